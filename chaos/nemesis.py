"""The nemesis: one fault at a time, on a schedule, each healed before the next.

Kinds come in rounds, each action (kill, pause, restart, cut, delay) once a
round in a shuffled order, so a short run still injects several different
ones and a long run injects each action about as often. The schedule
draws from the run's seed; what was done, when and to whom is logged.

- `kill_<role>`: kill -9 a gateway, consumer or relay; the supervisor restarts it.
- `pause_consumer`: SIGSTOP, then SIGCONT after the fault's duration: long
  enough sometimes for the group to hand its partitions to the other consumer,
  which the paused one does not know when it wakes mid-batch.
- `restart_<server>`: kill -9 the run's broker or Redis, and start it again on
  the same port after the fault's duration (both keep nothing: every topic,
  offset, cached balance and pending 202 is gone).
- `cut_<link>` / `delay_<link>`: through the run's proxy, hang up every
  connection to PostgreSQL, Redis or the broker and refuse new ones, or hold
  every chunk for a while.
- embedded: `kill_wallet` (kill -9, and `wallet serve` again on the same
  data) and `pause_wallet` (SIGSTOP, SIGCONT).
"""

import asyncio
import contextlib
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chaos.proxy import ProxyProcess
from chaos.stacks import LINKS, Embedded, Services

GAP_S = (6.0, 16.0)  # from one fault's healing to the next: some 40 faults in 10 minutes
ACTIVE_S = (1.0, 7.0)  # how long a pause, an outage, a cut or a delay lasts
LINK_DELAY_S = (0.02, 0.25)
KILLED_WALLET_DOWN_S = 0.5  # embedded: dead this long before it is started again
FAULTS_MAX = 10_000  # a bound on the loop; a run of an hour injects about 500


@dataclass
class Nemesis:
    stack: Services | Embedded
    rng: random.Random
    gap_s: tuple[float, float] = GAP_S
    faults: Counter[str] = field(default_factory=Counter)
    log: list[dict[str, Any]] = field(default_factory=list)
    _paused: set[int] = field(default_factory=set)

    async def run(self, until_s: float) -> None:
        """Faults until `until_s` (monotonic): the last is healed before it returns."""
        started, kinds = time.monotonic(), self._cycle()
        for _ in range(FAULTS_MAX):
            gap_s, active_s = self.rng.uniform(*self.gap_s), self.rng.uniform(*ACTIVE_S)
            if time.monotonic() + gap_s + active_s >= until_s:
                return  # the last fault is healed before the load ends
            await asyncio.sleep(gap_s)
            kind, at_s = next(kinds), time.monotonic() - started
            target = await self._inject(kind, active_s)
            self.faults[kind] += 1
            self.log.append({"at_s": round(at_s, 1), "kind": kind, "target": target,
                             "active_s": round(active_s, 1)})

    async def heal_all(self) -> None:
        """Whatever a cancelled fault left broken: paused processes and proxies."""
        for pid in self._paused:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        if isinstance(self.stack, Services) and self.stack.links is not None:
            for link in LINKS:
                self.stack.links.heal(link)

    def _cycle(self) -> Iterator[str]:
        """Rounds of every action (kill, pause, cut...) in a shuffled order, each on a random
        target: a short run still sees different kinds of harm, not three delays."""
        actions: dict[str, list[str]] = {}
        for kind in self.stack.fault_kinds:
            actions.setdefault(kind.partition("_")[0], []).append(kind)
        for _ in range(FAULTS_MAX):
            order = list(actions)
            self.rng.shuffle(order)
            yield from (self.rng.choice(actions[action]) for action in order)

    async def _inject(self, kind: str, active_s: float) -> str:
        action, _, what = kind.partition("_")
        faults: dict[str, Callable[[str, float], Awaitable[str]]] = {
            "kill": self._kill, "pause": self._pause, "restart": self._restart,
            "cut": self._cut, "delay": self._delay}
        return await faults[action](what, active_s)

    async def _kill(self, role: str, active_s: float) -> str:
        if isinstance(self.stack, Embedded):
            assert self.stack.process is not None
            await asyncio.to_thread(self.stack.process.kill)
            await asyncio.sleep(KILLED_WALLET_DOWN_S)
            await self.stack.start()
            return "wallet"
        name = self.rng.choice(self.stack.names(role))
        with contextlib.suppress(ProcessLookupError):  # already dead: the supervisor knows
            os.kill(self.stack.pid(name), signal.SIGKILL)
        return name

    async def _pause(self, role: str, active_s: float) -> str:
        if isinstance(self.stack, Embedded):
            assert self.stack.process is not None and self.stack.process.popen is not None
            name, pid = "wallet", self.stack.process.popen.pid
        else:
            name = self.rng.choice(self.stack.names(role))
            pid = self.stack.pid(name)
        self._paused.add(pid)
        try:
            os.kill(pid, signal.SIGSTOP)
            await asyncio.sleep(active_s)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
            self._paused.discard(pid)
        return name

    async def _restart(self, what: str, active_s: float) -> str:
        assert isinstance(self.stack, Services)
        server = self.stack.broker if what == "broker" else self.stack.redis
        assert server is not None
        await asyncio.to_thread(server.kill)
        await asyncio.sleep(active_s)
        await server.start()
        return what

    async def _cut(self, link: str, active_s: float) -> str:
        links = self._links()
        links.cut(link)
        try:
            await asyncio.sleep(active_s)
        finally:
            links.heal(link)
        return link

    async def _delay(self, link: str, active_s: float) -> str:
        links, delay_s = self._links(), self.rng.uniform(*LINK_DELAY_S)
        links.delay(link, delay_s)
        try:
            await asyncio.sleep(active_s)
        finally:
            links.heal(link)
        return f"{link} +{delay_s * 1000:.0f} ms"

    def _links(self) -> ProxyProcess:
        assert isinstance(self.stack, Services) and self.stack.links is not None
        return self.stack.links
