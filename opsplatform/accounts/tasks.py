from celery import shared_task

from opsplatform.accounts import signin_links


@shared_task(name="opsplatform.accounts.send_signin_link", ignore_result=True)
def send_signin_link(link_id: int) -> bool:
    return signin_links.send_signin_link(link_id)


@shared_task(name="opsplatform.accounts.signin_links_retention_tick", ignore_result=True)
def signin_links_retention_tick() -> int:
    return signin_links.purge_expired()
