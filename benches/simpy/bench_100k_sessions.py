#!/usr/bin/env python3
"""SimPy model of scenarios/bench-100k-sessions.toml, for the "100x SimPy" bar (DESIGN.md s. 8).

The same work per call as Spillway's model of that scenario (src/engine/mod.rs,
src/deployment/window.rs), written the way a SimPy user would: one process per session, one
process per admitted attempt at a deployment, and each attempt raced against its deadline
(`yield service | env.timeout(deadline)`).

    pip install simpy
    python3 benches/simpy/bench_100k_sessions.py --sessions 10000            # idiomatic
    python3 benches/simpy/bench_100k_sessions.py --sessions 10000 --lean     # no deadline race
                                                                             # when not needed
    python3 benches/simpy/bench_100k_sessions.py --sessions 10000 --subprocess  # each request
                                                                             # its own process
    python3 benches/simpy/bench_100k_sessions.py --sessions 2000 --json      # for comparison
    python3 benches/simpy/bench_100k_sessions.py --sessions 20000 --rate-per-min 600 --json

Prints (stderr) wall time, Spillway-style events and events/s, and SimPy's own event count.
"""

import argparse
import bisect
import json
import math
import random
import sys
import time
from collections import deque

import simpy

# --- The scenario (bench-100k-sessions.toml plus gpt-4o-mini's built-in defaults) -----------
SEED = 42
RATE_PER_MIN = 500.0
STEPS = 10
PROMPT_MEAN, PROMPT_SD, PROMPT_MIN = 1500.0, 600.0, 200.0
COMPLETION_MEAN, COMPLETION_CV = 250.0, 0.8
THINK_MEAN_S = 4.0
N_DEPLOYMENTS = 6
TPM = 2_000_000
RPM = int(TPM / 1000 * 6)            # 6 RPM per 1K TPM
REQ_WINDOW_S, REQ_LIMIT = 10.0, RPM * 10 // 60   # RPM/6 per rolling 10 s
TOK_WINDOW_S = 60.0
DEFAULT_MAX_TOKENS_ESTIMATE = 648    # charged when max_tokens is unset
TTFT_BASE_S, PREFILL_TPS = 0.300, 12_500.0
DECODE_TPS, SPEED_CV = 111.0, 0.15
COMPLETION_WINDOW_S = 60.0           # service-side: 408
CLIENT_TIMEOUT_S = 600.0             # client-side
MAX_RETRIES = 6
BACKOFF_INITIAL_S, BACKOFF_MAX_S, BACKOFF_JITTER = 0.5, 8.0, 0.25
RETRY_AFTER_CAP_S = 60.0


def lognormal_params(mean, cv):
    s2 = math.log(1.0 + cv * cv)
    return math.log(mean) - s2 / 2.0, math.sqrt(s2)


COMP_MU, COMP_SIGMA = lognormal_params(COMPLETION_MEAN, COMPLETION_CV)
SPEED_S2 = math.log(1.0 + SPEED_CV * SPEED_CV)
SPEED_SIGMA, SPEED_HALF_VAR = math.sqrt(SPEED_S2), SPEED_S2 / 2.0


class RollingWindow:
    """Charges at t return at t + window; Retry-After is when enough has expired."""

    def __init__(self, window, limit):
        self.window, self.limit = window, limit
        self.times = deque()   # charge times, oldest first
        self.cums = deque()    # running total including that charge
        self.added = 0
        self.expired = 0

    def _expire(self, now):
        times, cums, w = self.times, self.cums, self.window
        while times and times[0] + w <= now:
            times.popleft()
            self.expired = cums.popleft()

    def check(self, now, amount):
        """None if `amount` fits now, else the time at which it would."""
        self._expire(now)
        used = self.added - self.expired
        if used + amount <= self.limit:
            return None
        if amount > self.limit:
            return now + self.window
        i = bisect.bisect_left(self.cums, used + amount - self.limit + self.expired)
        return self.times[i] + self.window

    def charge(self, now, amount):
        self.added += amount
        if self.times and self.times[-1] == now:
            self.cums[-1] = self.added
        else:
            self.times.append(now)
            self.cums.append(self.added)


class Deployment:
    def __init__(self, name):
        self.name = name
        self.tokens = RollingWindow(TOK_WINDOW_S, TPM)
        self.requests = RollingWindow(REQ_WINDOW_S, REQ_LIMIT)
        self.attempts = self.admitted = self.rejected_429 = self.timed_out_408 = 0

    def admit(self, now, est):
        """None if admitted (both windows charged), else the Retry-After time of the 429."""
        self.attempts += 1
        r1 = self.requests.check(now, 1)
        r2 = self.tokens.check(now, est)
        if r1 is None and r2 is None:
            self.requests.charge(now, 1)
            self.tokens.charge(now, est)
            self.admitted += 1
            return None
        self.rejected_429 += 1
        at = max(r1 if r1 is not None else now, r2 if r2 is not None else now)
        return now + math.ceil((at - now) * 1000.0 - 1e-9) / 1000.0   # whole ms, rounded up


class Stats:
    def __init__(self):
        # Spillway-style events: a session arriving / a step starting, a first token, an
        # attempt ending, a retry, a timeout firing.
        self.events = 0
        self.sent = self.attempts = self.succeeded = self.failed = 0
        self.rate_limited = self.timed_out = self.client_retries = self.failovers = 0
        self.sessions_started = self.sessions_completed = self.sessions_failed = 0
        self.session_s = []
        self.e2e_s = []
        self.ttft_s = []


class Model:
    def __init__(self, env, sessions, seed, lean, rate_per_min=RATE_PER_MIN, subprocess=False):
        self.env = env
        self.subprocess = subprocess
        self.rate_per_min = rate_per_min
        self.n_sessions = sessions
        self.rng = random.Random(seed)
        self.deps = [Deployment(f"gpt4omini-{i + 1}") for i in range(N_DEPLOYMENTS)]
        self.rr = 0
        self.lean = lean
        self.st = Stats()

    # -- workload ---------------------------------------------------------------------------
    def arrivals(self):
        env, rng, st = self.env, self.rng, self.st
        rate_per_s = self.rate_per_min / 60.0
        for _ in range(self.n_sessions):
            yield env.timeout(rng.expovariate(rate_per_s))
            st.events += 1                                   # the arrival (starts step 0)
            env.process(self.session())

    def session(self):
        env, rng, st = self.env, self.rng, self.st
        st.sessions_started += 1
        started = env.now
        for step in range(STEPS):
            # The request's draws (Spillway draws them all when the request starts).
            prompt = max(1, round(max(PROMPT_MIN, rng.gauss(PROMPT_MEAN, PROMPT_SD))))
            want = max(1, round(rng.lognormvariate(COMP_MU, COMP_SIGMA)))
            speed = math.exp(SPEED_SIGMA * rng.gauss(0.0, 1.0) - SPEED_HALF_VAR)
            think = rng.expovariate(1.0 / THINK_MEAN_S)
            if self.subprocess:
                ok = yield env.process(self.request(prompt, want, speed))
            else:
                ok = yield from self.request(prompt, want, speed)
            if not ok:
                st.sessions_failed += 1
                return
            if step + 1 < STEPS:
                yield env.timeout(think)
                st.events += 1                               # the next step starts
        st.sessions_completed += 1
        st.session_s.append(env.now - started)

    # -- one request: attempts, failover, client retries -------------------------------------
    def request(self, prompt, want, speed):
        env, st, deps = self.env, self.st, self.deps
        st.sent += 1
        req_started = env.now
        est = prompt + DEFAULT_MAX_TOKENS_ESTIMATE
        retries = 0
        while True:
            # Round-robin start, failover to the next deployment on 429.
            n = len(deps)
            start = self.rr % n
            self.rr += 1
            dep = None
            min_retry_at = math.inf
            for j in range(n):
                if j:
                    st.failovers += 1
                st.attempts += 1
                d = deps[(start + j) % n]
                at = d.admit(env.now, est)
                if at is None:
                    dep = d
                    break
                min_retry_at = min(min_retry_at, at)
            if dep is not None:
                status, first_token = yield from self.attempt(dep, prompt, want, speed)
                if status == 200:
                    st.succeeded += 1
                    st.e2e_s.append(env.now - req_started)
                    st.ttft_s.append(first_token - req_started)
                    return True
                retry_after = None
            else:
                status, retry_after = 429, min_retry_at - env.now
            # A failed attempt: 429 (all deployments), 408 (completion window), or client timeout.
            if retries < MAX_RETRIES:
                if retry_after is not None and 0.0 < retry_after <= RETRY_AFTER_CAP_S:
                    delay = retry_after
                else:
                    delay = min(BACKOFF_INITIAL_S * 2.0 ** retries, BACKOFF_MAX_S) * (
                        1.0 - BACKOFF_JITTER * self.rng.random())
                retries += 1
                st.client_retries += 1
                yield env.timeout(delay)
                st.events += 1                               # the retry
                continue
            st.failed += 1
            if status == 429:
                st.rate_limited += 1
            else:
                st.timed_out += 1
            return False

    # -- one admitted attempt at a deployment -------------------------------------------------
    def serve(self, prefill, decode, times):
        st = self.st
        try:
            yield self.env.timeout(prefill)
            st.events += 1                                   # first token
            times[0] = self.env.now
            yield self.env.timeout(decode)
            st.events += 1                                   # attempt ends
        except simpy.Interrupt:
            pass                                             # cancelled by its deadline

    def attempt(self, dep, prompt, want, speed):
        env = self.env
        prefill = TTFT_BASE_S + prompt / PREFILL_TPS
        decode = want / (DECODE_TPS * speed)
        # Non-streaming: the 60 s completion window (408) comes before the 600 s client timeout.
        window, status_on_timeout = (
            (COMPLETION_WINDOW_S, 408) if COMPLETION_WINDOW_S < CLIENT_TIMEOUT_S
            else (CLIENT_TIMEOUT_S, 0))
        times = [None]
        if self.lean and prefill + decode + 0.001 < window:
            # Spillway's shortcut: an attempt whose end is known before its deadline gets no
            # deadline event at all.
            yield from self.serve(prefill, decode, times)
            return 200, times[0]
        svc = env.process(self.serve(prefill, decode, times))
        deadline = env.timeout(window)
        yield svc | deadline
        if svc.triggered:
            return 200, times[0]
        svc.interrupt()
        self.st.events += 1                                  # the timeout fires
        if status_on_timeout == 408:
            dep.timed_out_408 += 1
        return status_on_timeout, None


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, math.ceil(q / 100.0 * len(xs)) - 1))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--rate-per-min", type=float, default=RATE_PER_MIN,
                    help="session arrival rate (as --set workload.rate_per_min=...)")
    ap.add_argument("--lean", action="store_true",
                    help="schedule a deadline only when it can fire (as Spillway does)")
    ap.add_argument("--subprocess", action="store_true",
                    help="run each request as its own process (yield env.process(...)) "
                         "instead of inlining it with yield from")
    ap.add_argument("--json", action="store_true", help="print a summary as JSON on stdout")
    a = ap.parse_args()

    env = simpy.Environment()
    m = Model(env, a.sessions, a.seed, a.lean, a.rate_per_min, a.subprocess)
    env.process(m.arrivals())
    steps = 0
    t0 = time.perf_counter()
    # env.run() is `while True: env.step()`; stepping here counts SimPy's events too.
    step = env.step
    try:
        while True:
            step()
            steps += 1
    except simpy.core.EmptySchedule:
        pass
    wall = time.perf_counter() - t0
    st = m.st
    simpy_scheduled = next(env._eid)

    summary = {
        "sessions": {"started": st.sessions_started, "completed": st.sessions_completed,
                     "failed": st.sessions_failed,
                     "p50_s": pct(st.session_s, 50), "p99_s": pct(st.session_s, 99),
                     "mean_s": sum(st.session_s) / max(1, len(st.session_s))},
        "requests": {"sent": st.sent, "attempts": st.attempts, "succeeded": st.succeeded,
                     "failed": st.failed, "rate_limited": st.rate_limited,
                     "timed_out": st.timed_out, "client_retries": st.client_retries,
                     "failovers": st.failovers},
        "latency_s": {"ttft_p50": pct(st.ttft_s, 50), "e2e_p50": pct(st.e2e_s, 50),
                      "e2e_p99": pct(st.e2e_s, 99)},
        "deployments": [{"name": d.name, "attempts": d.attempts, "admitted": d.admitted,
                         "rejected_429": d.rejected_429, "timed_out_408": d.timed_out_408}
                        for d in m.deps],
        "sim_end_s": env.now,
        "perf": {"wall_s": wall, "events": st.events, "events_per_s": st.events / wall,
                 "simpy_steps": steps, "simpy_steps_per_s": steps / wall,
                 "simpy_events_scheduled": simpy_scheduled,
                 "wall_us_per_session": wall / max(1, a.sessions) * 1e6},
    }
    if a.json:
        print(json.dumps(summary, indent=2))
    print(f"simpy {simpy.__version__}, python {sys.version.split()[0]}, "
          f"{'lean' if a.lean else 'idiomatic'}{', subprocess' if a.subprocess else ''}, {a.sessions} sessions: "
          f"wall {wall:.2f} s, {st.events} events, {st.events / wall / 1e3:.1f} K events/s; "
          f"simpy: {steps} steps ({steps / wall / 1e3:.0f} K/s), {simpy_scheduled} scheduled",
          file=sys.stderr)


if __name__ == "__main__":
    main()
