"""Hooks into each Celery worker process: it consumes its own queue (for GPU routing), registers
itself with its machine's CPUs, memory and GPUs, heart-beats while it lives, and signs off."""

import logging
import os
import socket
import threading

import redis
from celery.signals import celeryd_after_setup, worker_ready, worker_shutdown
from django.conf import settings
from django.db import OperationalError, connection

from aigc_platform.core.broker import broker_keys_repair
from infrastructure.compute import services
from infrastructure.compute.gpus import gpu_inventory, machine_inventory

logger = logging.getLogger(__name__)

_heartbeat_stop = threading.Event()


def own_queue_name(node_name: str) -> str:
    return f"worker.{node_name}"


@celeryd_after_setup.connect
def consume_own_queue(sender: str, instance, **kwargs) -> None:
    instance.app.amqp.queues.select_add(own_queue_name(sender))
    _repair_broker_keys(instance.app)


def _repair_broker_keys(app) -> None:
    """Before consuming: a transport key of the wrong type (a list named `unacked`, say) would stop this
    worker at its first message, and at every restart, so it is renamed aside (never deleted) first."""
    if not str(app.conf.broker_url or "").startswith("redis"):
        return
    queues = [queue.name for queue in app.amqp.queues.consume_from.values()]
    try:
        repaired = broker_keys_repair(app.conf.broker_url, queues=queues)
    except redis.RedisError as error:
        logger.warning("Could not check the broker's keys: %s", error)
        return
    for wrong, target in repaired:
        logger.error(
            "The broker's key %r was a %s, not a %s, which stops every worker: renamed to %r (nothing deleted).",
            wrong.key,
            wrong.found,
            wrong.expected,
            target,
        )


@worker_ready.connect
def register_worker(sender, **kwargs) -> None:
    name = sender.hostname
    queues = sorted(queue.name for queue in sender.app.amqp.queues.consume_from.values())
    services.worker_register(
        name=name,
        hostname=socket.gethostname(),
        queues=queues,
        own_queue=own_queue_name(name),
        concurrency=sender.controller.concurrency if sender.controller else 1,
        pid=os.getpid(),
        inventory=machine_inventory(),
    )
    connection.close()
    _heartbeat_stop.clear()
    threading.Thread(target=_heartbeat_loop, args=(name,), name="worker-heartbeat", daemon=True).start()


def _heartbeat_loop(name: str) -> None:
    try:
        while not _heartbeat_stop.wait(settings.WORKER_HEARTBEAT_SECONDS):
            try:
                services.worker_heartbeat(name=name, gpus=gpu_inventory())
            except OperationalError as error:
                logger.warning("Heartbeat of %s failed: %s", name, error)
    finally:
        connection.close()


@worker_shutdown.connect
def deregister_worker(sender, **kwargs) -> None:
    _heartbeat_stop.set()
    try:
        services.worker_deregister(name=sender.hostname)
    except OperationalError as error:
        logger.warning("Could not sign off worker %s: %s", sender.hostname, error)
