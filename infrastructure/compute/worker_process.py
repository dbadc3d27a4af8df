"""Hooks into each Celery worker process: it consumes its own queue (for GPU routing), registers
itself with its machine's CPUs, memory and GPUs, heart-beats while it lives, and signs off."""
import logging
import os
import socket
import threading

from celery.signals import celeryd_after_setup, worker_ready, worker_shutdown
from django.conf import settings
from django.db import OperationalError, connection

from infrastructure.compute import services
from infrastructure.compute.gpus import gpu_inventory, machine_inventory

logger = logging.getLogger(__name__)

_heartbeat_stop = threading.Event()


def own_queue_name(node_name: str) -> str:
    return f"worker.{node_name}"


@celeryd_after_setup.connect
def consume_own_queue(sender: str, instance, **kwargs) -> None:
    instance.app.amqp.queues.select_add(own_queue_name(sender))


@worker_ready.connect
def register_worker(sender, **kwargs) -> None:
    name = sender.hostname
    queues = sorted(queue.name for queue in sender.app.amqp.queues.consume_from.values())
    services.worker_register(
        name=name, hostname=socket.gethostname(), queues=queues, own_queue=own_queue_name(name),
        concurrency=sender.controller.concurrency if sender.controller else 1, pid=os.getpid(),
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
