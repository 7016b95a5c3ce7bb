from celery import shared_task

from gateway.api.idempotency import idempotency_records_purge


@shared_task(name="api.idempotency_purge", ignore_result=True)
def idempotency_purge_task() -> int:
    return idempotency_records_purge()
