"""The Ashby connector: Ashby's Assessments Partner API, written on ``gateway.sdk`` alone."""
