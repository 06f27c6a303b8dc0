"""AWS's rules in the emulator (host mode): IAM evaluation of assumed-role calls (iam.py),
AWS's size and count limits (limits.py) and the tests' fault injection (faults.py), installed into LocalStack's request chain at start.
On unless TRUSTREG_FIDELITY=0 (localstack/README.md)."""

import logging
import os

from localstack.runtime import hooks

LOG = logging.getLogger("localstack.trustreg.fidelity")


def enabled() -> bool:
    return os.environ.get("TRUSTREG_FIDELITY", "1").lower() not in ("0", "false", "off", "no")


@hooks.on_infra_start(should_load=enabled)
def install_fidelity():
    from localstack.aws import handlers

    from . import faults, iam, limits

    limits.patch_providers()
    # serve_custom_service_request_handlers runs after the request is parsed (service,
    # operation, parameters known) and before the provider: limits first (AWS validates the
    # request before it authorizes it), then IAM.
    handlers.serve_custom_service_request_handlers.append(limits.check_request)
    handlers.serve_custom_service_request_handlers.append(iam.enforce)
    # Faults armed by the tests (faults.py) hit authorized calls, as AWS throttles them.
    handlers.serve_custom_service_request_handlers.append(faults.inject)
    handlers.run_custom_response_handlers.append(faults.kill_after)
    faults.install_routes()
    LOG.info("trustreg fidelity layer on: IAM for assumed roles, AWS size limits (log %s)",
             os.environ.get("TRUSTREG_IAM_LOG"))
