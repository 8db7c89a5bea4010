"""`python -m artie_sandbox.provider`: the provider process Terraform starts (via the mirror's launcher).

stdout carries only the go-plugin handshake line, so logs go to stderr (Terraform keeps them with
TF_LOG) or to ARTIE_PROVIDER_LOG. A watchdog exits when Terraform (the parent) goes away, and
tf's TLS certificate cache moves to a writable folder when HOME is not writable, and tf's unix
socket to /tmp when TMPDIR is too deep for one.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

WATCHDOG_INTERVAL = 0.5
# tf's runner listens on <temp folder>/tmpXXXXXXXX/py-tf-plugin.sock; grpc refuses a unix socket
# path longer than 105 bytes (measured with grpcio 1.85), and the provider then dies before its
# handshake line: Terraform only says it "failed to read any lines from plugin's stdout".
SOCKET_TAIL = len("/tmpXXXXXXXX/py-tf-plugin.sock")
MAX_SOCKET_PATH = 105


def cert_cache_dir() -> Path:
    """A private, writable folder for tf's self-signed certificate (HOME may be read-only)."""
    candidates = []
    if os.environ.get("XDG_CACHE_HOME"):
        candidates.append(Path(os.environ["XDG_CACHE_HOME"]) / "artie-sandbox-provider")
    candidates.append(Path.home() / ".cache" / "artie-sandbox-provider")
    candidates.append(Path(tempfile.gettempdir()) / f"artie-sandbox-provider-{os.getuid()}")
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            probe = folder / f".probe-{os.getpid()}"
            probe.touch()
            probe.unlink()
            if folder.stat().st_uid == os.getuid():
                return folder
        except OSError:
            continue
    raise SystemExit("artie provider: no writable folder for the TLS certificate cache")


def socket_temp_dir(temp: str, fallback: str = "/tmp") -> str:
    """The folder tf's runner makes its socket's folder in: `temp` (the usual temp folder) unless
    the socket's path would be too long there, then `fallback`."""
    if len(os.fsencode(temp)) + SOCKET_TAIL <= MAX_SOCKET_PATH:
        return temp
    if len(os.fsencode(fallback)) + SOCKET_TAIL <= MAX_SOCKET_PATH and os.access(
        fallback, os.W_OK | os.X_OK
    ):
        return fallback
    raise SystemExit(
        f"artie provider: the temporary folder {temp} is too deep for the provider's socket "
        f"(at most {MAX_SOCKET_PATH - SOCKET_TAIL} characters) and {fallback} is not writable: "
        "set TMPDIR to a shorter folder"
    )


def start_watchdog(interval: float = WATCHDOG_INTERVAL) -> threading.Thread:
    """Exit the process as soon as the parent (Terraform) is gone: tf never notices by itself."""
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                logging.getLogger("artie_sandbox.provider").info("terraform exited; stopping")
                os._exit(0)

    thread = threading.Thread(target=watch, name="parent-watchdog", daemon=True)
    thread.start()
    return thread


def fast_self_signed_cert(cache_dir: Path, generate):
    """tf's certificate, loaded without importing `cryptography` once it is cached.

    tf parses its cached certificate with `cryptography` on every start only to read the expiry;
    Terraform starts the provider several times per command, so the expiry is cached beside it.
    `generate` is tf's own function (it creates and caches the certificate when needed).
    """
    import grpc

    fast = cache_dir / "ssl_cert_fast.json"
    try:
        cached = json.loads(fast.read_text())
        if cached["not_after"] - time.time() > 3600:
            pair = (cached["key_pem"].encode(), cached["cert_pem"].encode())
            credentials = grpc.ssl_server_credentials([pair], require_client_auth=False)
            return base64.b64decode(cached["cert_chain"]), credentials
    except (OSError, ValueError, KeyError, TypeError):
        pass
    chain, credentials = generate()
    from cryptography import x509

    cached = json.loads((cache_dir / "ssl_cert.json").read_text())
    cert = x509.load_pem_x509_certificate(cached["cert_pem"].encode())
    cached["not_after"] = cert.not_valid_after_utc.timestamp()
    tmp = fast.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(cached))
    tmp.chmod(0o600)
    os.replace(tmp, fast)
    return chain, credentials


def _configure_logging() -> None:
    target = os.environ.get("ARTIE_PROVIDER_LOG")
    handler = logging.FileHandler(target) if target else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("artie_sandbox.provider")
    logger.addHandler(handler)
    logger.setLevel(os.environ.get("ARTIE_PROVIDER_LOG_LEVEL", "INFO").upper())
    logger.propagate = False


def main(argv: list[str] | None = None) -> None:
    _configure_logging()
    start_watchdog()

    from tf import runner

    cache_dir = cert_cache_dir()
    tempfile.tempdir = socket_temp_dir(tempfile.gettempdir())
    runner._get_cert_cache_path = lambda: cache_dir / "ssl_cert.json"  # tf hardcodes ~/.cache
    generate = runner._self_signed_cert
    runner._self_signed_cert = lambda: fast_self_signed_cert(cache_dir, generate)

    from tf import provider as tf_provider

    from artie_sandbox.provider.planning import PlanningServicer
    from artie_sandbox.provider.provider import ArtieProvider

    # run_provider imports the servicer class when it starts: plans see the configuration.
    tf_provider.ProviderServicer = PlanningServicer
    runner.run_provider(ArtieProvider(), argv or sys.argv)
    # Terraform waits for the process to exit after Shutdown; skip grpc's slow finalization.
    logging.shutdown()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
