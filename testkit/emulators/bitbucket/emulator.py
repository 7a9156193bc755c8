"""`BitbucketEmulator`: the public face — lifecycle, seeding, fault injection and introspection."""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .backend import Backend, ResponseHook
from .config import Limits, ProxyConfig, RateLimits, Readings
from .faults import Fault, FaultInjector, FaultKind
from .requestlog import LoggedRequest, RequestLog
from .routes import ROUTES
from .seed import Seeder
from .server import EmulatorServer
from .spec import default_spec_path, load_contract
from .state import PULL_REQUEST_STATES, Comment, PipelineRun, PullRequest, Report, Repository, Token

SeedSource = Mapping[str, Any] | str | Path
_RUN_STATES = ("PENDING", "IN_PROGRESS", "COMPLETED")
_RUN_RESULTS = ("SUCCESSFUL", "FAILED", "STOPPED", "ERROR")


class BitbucketEmulator:
    """A local Bitbucket Cloud API 2.0. Use as a context manager; `url` is the client's base URL and,
    with `proxy=ProxyConfig(...)`, `proxy_url` is the auth proxy to send plain-HTTP requests through."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        proxy: ProxyConfig | None = None,
        limits: Limits | None = None,
        readings: Readings | None = None,
        rate_limits: RateLimits | None = RateLimits(),  # noqa: B008 - frozen, shared safely
        spec_path: str | Path | None = None,
        id_seed: int | None = None,
        fault_seed: int = 0,
        clock: Callable[[], float] = time.time,
    ):
        contract = load_contract(str(spec_path or default_spec_path()))
        self.backend = Backend(
            contract,
            ROUTES,
            limits=limits or Limits(),
            readings=readings or Readings(),
            rate_limits=rate_limits,
            proxy=proxy,
            clock=clock,
            id_seed=id_seed,
        )
        self.proxy_config = proxy
        self.faults = FaultInjector(fault_seed)
        self.log = RequestLog()
        self._seeder = Seeder(self.backend)
        self._address = (host, port)
        self._servers: list[tuple[EmulatorServer, threading.Thread]] = []

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> BitbucketEmulator:
        if self._servers:
            return self
        listeners: list[tuple[str, tuple[str, int]]] = [("api", self._address)]
        if self.proxy_config is not None:
            listeners.append(("proxy", (self.proxy_config.host, self.proxy_config.port)))
        for listener, address in listeners:
            server = EmulatorServer(
                address, self.backend, self.faults, self.log, listener=listener, proxy=self.proxy_config
            )
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.01},
                name=f"bitbucket-emulator-{listener}",
                daemon=True,
            )
            thread.start()
            self._servers.append((server, thread))
        return self

    def stop(self) -> None:
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._servers = []

    def __enter__(self) -> BitbucketEmulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT/2.0`, the API base URL (only once started)."""
        return self._server("api").base_url

    @property
    def proxy_url(self) -> str:
        """`http://127.0.0.1:PORT`, the auth proxy to pass as `proxies={"http": …}` (only with `proxy=`)."""
        address = self._server("proxy").server_address
        return f"http://{address[0]!s}:{address[1]}"

    def _server(self, listener: str) -> EmulatorServer:
        for server, _ in self._servers:
            if server.listener == listener:
                return server
        raise RuntimeError(
            f"the {listener} listener is not running; start() the emulator"
            + (" with proxy=ProxyConfig(...)" if listener == "proxy" else "")
        )

    # -- seeding -----------------------------------------------------------------------------------

    @classmethod
    def from_seed(cls, seed: SeedSource, **kwargs: Any) -> BitbucketEmulator:
        emulator = cls(**kwargs)
        emulator.load_seed(seed)
        return emulator

    def load_seed(self, seed: SeedSource) -> None:
        data = seed if isinstance(seed, Mapping) else json.loads(Path(seed).read_text(encoding="utf-8"))
        with self.backend.lock:
            self._seeder.load(data)

    def add_workspace(self, slug: str, name: str | None = None) -> str:
        with self.backend.lock:
            return self._seeder.workspace(slug, name).slug

    def add_repository(self, workspace: str, slug: str, **spec: Any) -> str:
        """See `Seeder.add_repository` (commits, branches, pipelines, pullrequests); returns the full name."""
        with self.backend.lock:
            return self._seeder.add_repository({"workspace": workspace, "slug": slug, **spec}).full_name

    def add_commit(self, workspace: str, repo: str, message: str = "Change", **spec: Any) -> str:
        """A new commit (hash generated unless given); returns its hash. Branches do not move."""
        with self.backend.lock:
            return self._seeder.add_commit(workspace, repo, {"message": message, **spec}).hash

    def add_branch(self, workspace: str, repo: str, name: str, target: str) -> None:
        with self.backend.lock:
            self._seeder.add_branch(workspace, repo, name, target)

    def add_pull_request(self, workspace: str, repo: str, **spec: Any) -> int:
        """`source=` (a branch) is required; `state=`, `title=`, `id=`, `deleted=`, … optional; returns the ID."""
        with self.backend.lock:
            return self._seeder.add_pull_request(workspace, repo, spec).id

    def add_comment(self, workspace: str, repo: str, pr_id: int, raw: str, author: str = "developer") -> int:
        """A comment by a user (nickname) or, with `author=<token value>`, by that token; returns its ID."""
        with self.backend.lock:
            return self._seeder.add_comment(workspace, repo, pr_id, {"raw": raw, "author": author}).id

    def add_token(
        self,
        workspace: str,
        repo: str | None = None,
        *,
        scopes: Iterable[str] = ("repository",),
        value: str | None = None,
        name: str | None = None,
    ) -> str:
        """A repository (or, without `repo`, workspace) access token; returns its (obviously fake) value."""
        token_value = value or f"fake-bitbucket-token-{secrets.token_hex(8)}"
        with self.backend.lock:
            return self._seeder.token(token_value, workspace, repo, scopes=scopes, name=name).value

    @property
    def tokens(self) -> list[Token]:
        with self.backend.lock:
            return list(self.backend.world.tokens.values())

    # -- changes a test makes behind the API ---------------------------------------------------------

    def set_pull_request_state(self, workspace: str, repo: str, pr_id: int, state: str) -> None:
        if state not in PULL_REQUEST_STATES:
            raise ValueError(f"state must be one of {PULL_REQUEST_STATES}")
        with self.backend.lock:
            pr = self._repo(workspace, repo).pull_requests[pr_id]
            pr.state, pr.updated_on = state, self.backend.now()  # type: ignore[assignment]

    def delete_pull_request(self, workspace: str, repo: str, pr_id: int) -> None:
        """From now on the pull request answers 404."""
        with self.backend.lock:
            self._repo(workspace, repo).pull_requests[pr_id].deleted = True

    def set_pipeline_state(
        self, workspace: str, repo: str, run: str | int, state: str, result: str | None = None
    ) -> None:
        """Move a run (by `{uuid}` or build number) to PENDING, IN_PROGRESS or COMPLETED with a result."""
        if state not in _RUN_STATES or (state == "COMPLETED") != (result in _RUN_RESULTS):
            raise ValueError(f"state one of {_RUN_STATES}; result one of {_RUN_RESULTS} exactly when COMPLETED")
        with self.backend.lock:
            found = self._run(self._repo(workspace, repo), run)
            found.state, found.result = state, result
            found.completed_on = self.backend.now() if state == "COMPLETED" else None

    # -- faults, hooks, limits ---------------------------------------------------------------------

    def add_fault(self, kind: FaultKind, **rule: Any) -> Fault:
        """See `faults.Fault`: e.g. `add_fault("status", status=503, method="PUT", path=r"/reports/", times=2)`."""
        return self.faults.add(Fault(kind, **rule))

    def clear_faults(self) -> None:
        self.faults.clear()

    def add_response_hook(self, hook: ResponseHook) -> None:
        """`hook(route_name, status, body) -> body` runs before response validation (to test the validator)."""
        self.backend.response_hooks.append(hook)

    def reset_rate_limits(self) -> None:
        if self.backend.limiter is not None:
            self.backend.limiter.reset()

    def rate_limit_used(self, token: str) -> int:
        """Requests counted in the current window for a token value (or `"proxy"` for the auth proxy)."""
        limiter = self.backend.limiter
        if limiter is None:
            return 0
        proxy = self.proxy_config
        key = f"proxy:{proxy.workspace}/{proxy.repo_slug}" if token == "proxy" and proxy else f"token:{token}"
        return limiter.used(key)

    # -- introspection -----------------------------------------------------------------------------

    @property
    def spec_violations(self) -> list[str]:
        """Every request or response that did not conform to the spec (the live list)."""
        return self.backend.spec_violations

    def take_spec_violations(self) -> list[str]:
        """Return and clear the recorded violations (for tests that provoke them on purpose)."""
        with self.backend.lock:
            taken = list(self.backend.spec_violations)
            self.backend.spec_violations.clear()
        return taken

    @property
    def requests(self) -> list[LoggedRequest]:
        return self.log.entries()

    def clear_requests(self) -> None:
        self.log.clear()

    def repository(self, workspace: str, repo: str) -> Repository:
        """A deep copy of the whole stored repository (commits, branches, PRs, reports, runs)."""
        with self.backend.lock:
            return copy.deepcopy(self._repo(workspace, repo))

    def pull_request(self, workspace: str, repo: str, pr_id: int) -> PullRequest:
        with self.backend.lock:
            return copy.deepcopy(self._repo(workspace, repo).pull_requests[pr_id])

    def comments(self, workspace: str, repo: str, pr_id: int, *, include_deleted: bool = False) -> list[Comment]:
        """Stored comments of a pull request, oldest first (copies)."""
        with self.backend.lock:
            found = self._repo(workspace, repo).pull_requests[pr_id].comments
            return [copy.deepcopy(c) for c in found if include_deleted or not c.deleted]

    def reports(self, workspace: str, repo: str, commit: str | None = None) -> list[Report]:
        """Stored Code Insights reports (with their annotations), optionally of one commit (copies)."""
        with self.backend.lock:
            found = self._repo(workspace, repo)
            full = found.commit(commit).hash if commit else None
            return [copy.deepcopy(r) for (c, _), r in found.reports.items() if full is None or c == full]

    def report(self, workspace: str, repo: str, commit: str, external_id: str) -> Report:
        with self.backend.lock:
            found = self._repo(workspace, repo)
            return copy.deepcopy(found.report(found.commit(commit).hash, external_id))

    def branches(self, workspace: str, repo: str) -> dict[str, str]:
        """Branch name → commit hash."""
        with self.backend.lock:
            return {name: b.target for name, b in self._repo(workspace, repo).branches.items()}

    def pipeline_runs(self, workspace: str, repo: str) -> list[PipelineRun]:
        """Triggered runs, oldest first, with secured variable values as sent (copies)."""
        with self.backend.lock:
            return [copy.deepcopy(run) for run in self._repo(workspace, repo).pipelines]

    def _repo(self, workspace: str, repo: str) -> Repository:
        return self.backend.world.repository(workspace, repo)

    @staticmethod
    def _run(repo: Repository, ref: str | int) -> PipelineRun:
        if isinstance(ref, int):
            for run in repo.pipelines:
                if run.build_number == ref:
                    return run
            raise KeyError(f"no pipeline run #{ref} in {repo.full_name}")
        return repo.pipeline(ref)
