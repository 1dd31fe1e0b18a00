"""A webhook receiver on loopback, and running the notification sensors on a finished run."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import dagster as dg

from keeptrusts_pipelines.definitions import build_resources
from keeptrusts_pipelines.defs.instance import local_instance
from keeptrusts_pipelines.defs.resources import WebhookResource
from keeptrusts_pipelines.defs.sensors import export_completed_sensor, export_failed_sensor


class Receiver(BaseHTTPRequestHandler):
    """Refuses its first `failures` posts with a 503, then keeps (headers, body) of each."""

    failures = 0
    bodies: ClassVar[list[tuple[dict, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if Receiver.failures > 0:
            Receiver.failures -= 1
            self.send_response(503)
        else:
            Receiver.bodies.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@contextmanager
def running_receiver() -> Iterator[str]:
    Receiver.failures, Receiver.bodies = 0, []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/exports"
    finally:
        server.shutdown()


def notify_run(result: dg.ExecuteInProcessResult, url: str, secret: str = "s3cret") -> None:
    """Run the completion or failure sensor on `result`'s run, posting to `url`."""
    instance = local_instance()
    resources = build_resources()
    hooked = {
        "exports": resources["exports"],
        "evidence": resources["evidence"],
        "custody": resources["custody"],
        "webhook": WebhookResource(url=url, secret=secret),
    }
    run = instance.get_run_by_id(result.run_id)
    if result.success:
        context = dg.build_run_status_sensor_context(
            sensor_name="export_completed_sensor",
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=result.get_run_success_event(),
            resources=hooked,
        )
        export_completed_sensor(context)
    else:
        context = dg.build_run_status_sensor_context(
            sensor_name="export_failed_sensor",
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=result.get_run_failure_event(),
            resources=hooked,
        ).for_run_failure()
        export_failed_sensor(context)
