#!/usr/bin/env python3
"""The end-to-end benchmark behind `make bench`: four measurements of simrun, side by side with
their targets, in one table.

1. generation: bench/scenarios/generation.yaml (a million Zipf users, a hundred thousand Zipf
   products, three funnel steps, evenly spaced arrivals) at speed max into the null sink,
   pinned to one core; events per second, nanoseconds per event and peak RSS.
2. delivery: the same events produced to the local broker (acks=all, idempotence, lz4), each
   round followed by Kafka's own ProducerPerformance sending as many records of the same
   average size with the same settings to a topic with as many partitions; fresh topics every
   round, rounds alternating simrun and ProducerPerformance (seven by default); the median ratio
   of the two.
3. pacing: a constant 20,000 events per second and a ramp from 1,000 to 30,000, each for 30 s
   at real-time speed, read back from the broker; the error of the achieved mean rate against
   the plan and the 99th percentile of the per-second deviation, once by the records' event
   times and once by the broker's wall clock (the topics use LogAppendTime). Three rounds of
   both by default, judged on their median like the delivery rounds, each round printed with
   what disturbed it: simrun's own lag, the hypervisor's steal, the broker's GC pauses.
4. memory: the generation run ten times longer; its peak RSS against that of (1).

The broker must already answer on $BOOTSTRAP (default localhost:9092); `make bench` starts
the local one when needed. Python 3.11, standard library only.

usage: bench/run.py [--only PART,...] [--rounds N] [--pacing-rounds N] [--generation-runs N]
                    [-X KEY=VALUE] [--no-build] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "bench" / "scenarios"
SCHEMAS = ROOT / "schemas"
KAFKA = ROOT / "scripts" / "kafka-local.sh"
TARGET = ROOT / os.environ.get("CARGO_TARGET_DIR", "target")
SIMRUN = TARGET / "release" / "simrun"
RECORD_BYTES = TARGET / "release" / "examples" / "record-bytes"
RESULTS = TARGET / "bench"
CARGO = os.environ.get("CARGO", "cargo")

BOOTSTRAP = os.environ.get("BOOTSTRAP", "localhost:9092")
PARTS = ("generation", "delivery", "pacing", "memory")

# The producer settings both sides of the delivery comparison use. acks and idempotence are
# simrun's defaults already; they are passed anyway so that the command says what it measures.
DELIVERY_SETTINGS = {"acks": "all", "enable.idempotence": "true", "compression.type": "lz4"}

# simrun creates the delivery topics with its default of 3 partitions (the scenario sets none);
# ProducerPerformance's topic is created with as many.
PARTITIONS = 3

TARGET_EVENTS_PER_SECOND = 1_000_000
TARGET_RSS_MIB = 256
TARGET_DELIVERY_RATIO = 1.0
TARGET_MEAN_RATE_ERROR = 0.005
TARGET_P99_DEVIATION = 0.02
TARGET_RSS_GROWTH = 0.10

MIB = 1024 * 1024


class BenchError(Exception):
    """A measurement could not be taken; the message says why and what to do."""


# ----- Running and measuring processes -----


@dataclass
class Measured:
    """A finished process: its output, and what it cost."""

    returncode: int
    stdout: str
    stderr: str
    wall_seconds: float
    cpu_seconds: float
    max_rss_kib: int
    broker_cpu_seconds: float | None
    machine_busy: float
    # The share of the machine's time the hypervisor gave to other guests.
    machine_steal: float


def broker_pid() -> int | None:
    """The local broker's process: the one `kafka-local.sh up` started, else any kafka.Kafka."""
    pid_file = ROOT / ".cache" / "kafka" / "kafka.pid"
    try:
        pid = int(pid_file.read_text().strip())
        if Path(f"/proc/{pid}").exists():
            return pid
    except (OSError, ValueError):
        pass
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kafka.Kafka" in command:
            return int(entry.name)
    return None


def process_cpu_seconds(pid: int | None) -> float | None:
    """User and system CPU seconds a process has used so far."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def machine_ticks() -> tuple[int, int, int]:
    """(busy, total, stolen) CPU ticks of the whole machine since boot."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    steal = values[7] if len(values) > 7 else 0
    return sum(values) - idle, sum(values), steal


def measure(command: list[str], *, broker: int | None = None) -> Measured:
    """Runs `command` to completion and measures it.

    CPU time and peak RSS come from the kernel's accounting of the child (wait4), which also
    covers children it waited for, such as the JVM under kafka-local.sh.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        broker_before = process_cpu_seconds(broker)
        busy_before, total_before, steal_before = machine_ticks()
        began = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - began
        busy_after, total_after, steal_after = machine_ticks()
        broker_after = process_cpu_seconds(broker)
        out.seek(0)
        err.seek(0)
        broker_cpu = None
        if broker_before is not None and broker_after is not None:
            broker_cpu = broker_after - broker_before
        return Measured(
            returncode=process.returncode,
            stdout=out.read(),
            stderr=err.read(),
            wall_seconds=wall,
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            max_rss_kib=usage.ru_maxrss,
            broker_cpu_seconds=broker_cpu,
            machine_busy=(busy_after - busy_before) / max(1, total_after - total_before),
            machine_steal=(steal_after - steal_before) / max(1, total_after - total_before),
        )


def check(measured: Measured, what: str) -> Measured:
    if measured.returncode != 0:
        tail = "\n".join((measured.stderr or measured.stdout).strip().splitlines()[-15:])
        raise BenchError(f"{what} failed with exit code {measured.returncode}:\n{tail}")
    return measured


def kafka_tool(*args: str) -> Measured:
    """Runs one of Kafka's tools from the jars kafka-local.sh fetched."""
    return measure([str(KAFKA), "java-class", *args])


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ----- Scenarios -----


def scenario_copy(source: Path, suffix: str, directory: Path) -> Path:
    """A copy of a bench scenario whose Kafka topic names end in `suffix`, so that every run
    writes to fresh topics, with schema paths made absolute."""
    text = source.read_text()
    start, end = text.index("\ntopics:"), text.index("\nusers:")
    topics = re.sub(r"(\bname:\s*bench-[A-Za-z0-9-]+)", rf"\g<1>{suffix}", text[start:end])
    text = (text[:start] + topics + text[end:]).replace("../../schemas/", f"{SCHEMAS}/")
    copy = directory / f"{source.stem}{suffix}.yaml"
    copy.write_text(text)
    return copy


def topic_names(scenario: Path) -> list[str]:
    """The Kafka topic names a scenario (as written by the bench) declares, in file order."""
    text = scenario.read_text()
    topics = text[text.find("topics:") : text.find("users:")]
    return re.findall(r"\bname:\s*([A-Za-z0-9._-]+)", topics)


def run_report(scenario: Path, arguments: list[str], *, pin: bool = False, broker=None):
    """Runs `simrun run` and returns its JSON report with the measurement of the process."""
    with tempfile.TemporaryDirectory() as directory:
        report_path = Path(directory) / "report.json"
        command = [str(SIMRUN), "run", str(scenario), *arguments, "--report", str(report_path)]
        if pin and shutil.which("taskset"):
            command = ["taskset", "-c", "0", *command]
        measured = check(measure(command, broker=broker), f"simrun run {scenario.name}")
        return json.loads(report_path.read_text()), measured


# ----- 1 and 4: generation and memory -----


@dataclass
class Generation:
    events: int
    events_per_second: float
    ns_per_event: float
    peak_rss_mib: float
    runs: list[float] = field(default_factory=list)


def generation(scenario: Path, runs: int) -> Generation:
    rates, rss, events = [], [], 0
    for _ in range(runs):
        report, measured = run_report(scenario, ["--sink", "null"], pin=True)
        if report["outcome"] != "completed":
            raise BenchError(f"{scenario.name} ended {report['outcome']}, not completed")
        events = report["events"]
        rates.append(events / report["wall_seconds"])
        rss.append(measured.max_rss_kib / 1024)
    rate = statistics.median(rates)
    return Generation(events, rate, 1e9 / rate, max(rss), rates)


# ----- 2: delivery against ProducerPerformance -----


@dataclass
class DeliveryRun:
    """One side of one round."""

    tool: str
    records: int
    records_per_second: float
    mib_per_second: float
    client_cpu_seconds: float
    broker_cpu_seconds: float | None
    machine_busy: float
    machine_steal: float
    wall_seconds: float


PERFORMANCE_LINE = re.compile(
    r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)", re.MULTILINE
)


def simrun_delivery(
    tag: str, directory: Path, record_bytes: int, broker, extra: list[str]
) -> DeliveryRun:
    scenario = scenario_copy(SCENARIOS / "generation.yaml", tag, directory)
    settings = [arg for key, value in DELIVERY_SETTINGS.items() for arg in ("-X", f"{key}={value}")]
    settings += [arg for property in extra for arg in ("-X", property)]
    report, measured = run_report(
        scenario, ["--sink", "kafka", "-b", BOOTSTRAP, *settings], broker=broker
    )
    acknowledged = sum(topic["acknowledged"] for topic in report["topics"])
    if acknowledged != report["events"]:
        raise BenchError(
            f"simrun produced {report['events']} records but only {acknowledged} were "
            "acknowledged; see the broker's log (make kafka-logs)"
        )
    seconds = report["wall_seconds"]
    return DeliveryRun(
        tool="simrun",
        records=report["events"],
        records_per_second=report["events"] / seconds,
        mib_per_second=record_bytes / seconds / MIB,
        client_cpu_seconds=measured.cpu_seconds,
        broker_cpu_seconds=measured.broker_cpu_seconds,
        machine_busy=measured.machine_busy,
        machine_steal=measured.machine_steal,
        wall_seconds=seconds,
    )


def performance_delivery(tag: str, records: int, size: int, broker) -> DeliveryRun:
    topic = f"bench-producer-performance{tag}"
    check(
        kafka_tool(
            "org.apache.kafka.tools.TopicCommand", "--bootstrap-server", BOOTSTRAP,
            "--create", "--topic", topic, "--partitions", str(PARTITIONS),
            "--replication-factor", "1", "--config", "retention.ms=-1",
        ),
        f"creating topic {topic}",
    )
    properties = [f"bootstrap.servers={BOOTSTRAP}"]
    properties += [f"{key}={value}" for key, value in DELIVERY_SETTINGS.items()]
    measured = check(
        measure(
            [
                str(KAFKA), "java-class", "org.apache.kafka.tools.ProducerPerformance",
                "--topic", topic, "--num-records", str(records), "--record-size", str(size),
                "--throughput", "-1", "--producer-props", *properties,
            ],
            broker=broker,
        ),
        "ProducerPerformance",
    )
    totals = PERFORMANCE_LINE.findall(measured.stdout)
    if not totals or int(totals[-1][0]) != records:
        raise BenchError(f"ProducerPerformance did not report {records} records sent:\n"
                         + measured.stdout[-2000:])
    sent, per_second, _ = totals[-1]
    rate = float(per_second)
    return DeliveryRun(
        tool="ProducerPerformance",
        records=int(sent),
        records_per_second=rate,
        mib_per_second=rate * size / MIB,
        client_cpu_seconds=measured.cpu_seconds,
        broker_cpu_seconds=measured.broker_cpu_seconds,
        machine_busy=measured.machine_busy,
        machine_steal=measured.machine_steal,
        wall_seconds=int(sent) / rate,
    )


@dataclass
class Delivery:
    records: int
    record_bytes: int
    average_size: float
    rounds: list[tuple[DeliveryRun, DeliveryRun]]

    def ratios(self) -> list[float]:
        return [a.records_per_second / b.records_per_second for a, b in self.rounds]

    def median(self, side: int, attribute: str) -> float:
        return statistics.median(getattr(pair[side], attribute) for pair in self.rounds)


def delivery(rounds: int, run_id: str, directory: Path, extra: list[str]) -> Delivery:
    broker = broker_pid()
    counted = json.loads(
        check(
            measure([str(RECORD_BYTES), str(SCENARIOS / "generation.yaml")]),
            "counting record bytes",
        ).stdout
    )
    records, record_bytes = counted["events"], counted["bytes"]
    average = record_bytes / records
    size = round(average)
    say(f"delivery: {records:,} records of {average:.2f} bytes on average (key and value); "
        f"ProducerPerformance sends {size}-byte values")
    pairs = []
    for number in range(1, rounds + 1):
        tag = f"-{run_id}-r{number}"
        ours = simrun_delivery(tag, directory, record_bytes, broker, extra)
        say(f"  round {number}: simrun {ours.records_per_second:,.0f} records/s")
        theirs = performance_delivery(tag, records, size, broker)
        say(f"  round {number}: ProducerPerformance {theirs.records_per_second:,.0f} records/s")
        pairs.append((ours, theirs))
    return Delivery(records, record_bytes, average, pairs)


# ----- 3: pacing -----


@dataclass
class Profile:
    """One linear stage: `start` events per second rising (or not) to `end` over `seconds`."""

    start: float
    end: float
    seconds: int

    def cumulative(self, t: float) -> float:
        """Events due before `t` seconds."""
        return self.start * t + (self.end - self.start) * t * t / (2 * self.seconds)

    def total(self) -> int:
        return math.ceil(self.cumulative(self.seconds))

    def per_second(self) -> list[int]:
        """Events due in each whole second, for evenly spaced arrivals."""
        marks = [math.ceil(self.cumulative(k)) for k in range(self.seconds + 1)]
        return [b - a for a, b in zip(marks, marks[1:])]


STAGE = re.compile(
    r"-\s*\{\s*duration:\s*(\d+)s,\s*(?:rate:\s*(\d+)|from:\s*(\d+),\s*to:\s*(\d+))\s*\}"
)


def profile_of(scenario: Path) -> Profile:
    """The single stage of a pacing scenario."""
    stages = STAGE.findall(scenario.read_text())
    if len(stages) != 1:
        raise BenchError(
            f"{scenario}: a pacing scenario needs exactly one stage, written "
            "`- { duration: 30s, rate: N }` or `- { duration: 30s, from: A, to: B }`"
        )
    seconds, rate, start, end = stages[0]
    if rate:
        return Profile(float(rate), float(rate), int(seconds))
    return Profile(float(start), float(end), int(seconds))


@dataclass
class ClockResult:
    """Pacing judged by one clock."""

    records: int
    mean_rate: float
    mean_rate_error: float
    p99_deviation: float
    worst_second: int


@dataclass
class Pacing:
    name: str
    round: int
    profile: Profile
    planned_mean_rate: float
    event_time: ClockResult
    wall_clock: ClockResult
    max_behind_ms: float
    mean_behind_ms: float
    # How much later than the earliest record each record reached the broker, beyond that
    # earliest record's own delay (append time minus event time): percentiles in ms.
    lag_p50_ms: int
    lag_p99_ms: int
    lag_max_ms: int
    # Records more than 100 ms later than the median delay, and when they were due (s).
    late_records: int
    late_span: tuple[float, float] | None
    # The machine while simrun ran: busy and stolen shares, the broker's CPU seconds.
    machine_busy: float
    machine_steal: float
    broker_cpu_seconds: float | None
    # The local broker's garbage-collection pauses during the run, from its GC log: (second of
    # the run on the wall clock judged, milliseconds paused). None when there is no such log.
    broker_pauses: list[tuple[float, float]] | None


GC_LOG = ROOT / ".cache" / "kafka" / "logs" / "gc.log"
GC_PAUSE = re.compile(r"^\[(\S+?)\]\[[\d.]+s\] GC\(\d+\) Pause .* ([\d.]+)ms$")


def broker_gc_pauses(since: float, until: float,
                     origin_ms: int) -> list[tuple[float, float]] | None:
    """The local broker's GC pauses between two wall-clock times (seconds since the epoch), as
    (seconds after `origin_ms`, milliseconds paused); None without the GC log that
    kafka-local.sh has the broker write."""
    try:
        lines = GC_LOG.read_text().splitlines()
    except OSError:
        return None
    pauses = []
    for line in lines:
        match = GC_PAUSE.match(line)
        if not match:
            continue
        at = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        if since <= at <= until:
            pauses.append(((at * 1000 - origin_ms) / 1000, float(match.group(2))))
    return pauses


def judge(times_ms: list[int], origin_ms: int, profile: Profile) -> ClockResult:
    """Compares delivered records, by one of their clocks, with the plan.

    Second `k` of the run is `[origin + k s, origin + (k + 1) s)` on that clock. The achieved
    mean rate is the number of records inside the planned duration over its length, so a record
    that arrives after the last planned second counts as missing; the per-second deviation
    compares each second's records with the records due in it.
    """
    planned = profile.per_second()
    counts = [0] * profile.seconds
    for stamp in times_ms:
        offset = stamp - origin_ms
        if 0 <= offset < 1000 * profile.seconds:
            counts[offset // 1000] += 1
    deviations = [abs(c - p) / p for c, p in zip(counts, planned)]
    ranked = sorted(deviations)
    mean_rate = sum(counts) / profile.seconds
    return ClockResult(
        records=len(times_ms),
        mean_rate=mean_rate,
        mean_rate_error=mean_rate / (profile.total() / profile.seconds) - 1,
        p99_deviation=ranked[math.ceil(0.99 * len(ranked)) - 1],
        worst_second=deviations.index(ranked[-1]),
    )


def read_back(scenario: Path, topic: str) -> tuple[list[int], list[int]]:
    """Every record of `topic`: its event time (the Avro `timestamp` field, which simrun also
    sets as the record's create time) and the broker's append time (the record timestamp of a
    LogAppendTime topic)."""
    measured = check(
        measure([str(SIMRUN), "tail", topic, "--scenario", str(scenario), "--from-beginning",
                 "-b", BOOTSTRAP]),
        f"simrun tail {topic}",
    )
    event_ms, append_ms = [], []
    for line in measured.stdout.splitlines():
        record = json.loads(line)
        append_ms.append(int(record["timestamp"]))
        event_ms.append(int(record["value"]["timestamp"]))
    return event_ms, append_ms


def pacing(name: str, number: int, file: str, run_id: str, directory: Path) -> Pacing:
    profile = profile_of(SCENARIOS / file)
    scenario = scenario_copy(SCENARIOS / file, f"-{run_id}-r{number}", directory)
    began = time.time()
    report, measured = run_report(scenario, ["--sink", "kafka", "-b", BOOTSTRAP],
                                  broker=broker_pid())
    ended = time.time()
    if report["events"] != profile.total():
        raise BenchError(f"{file}: simrun emitted {report['events']} events, the plan "
                         f"{profile.total()}")
    event_ms, append_ms = read_back(scenario, topic_names(scenario)[0])
    if len(event_ms) != profile.total():
        raise BenchError(f"{file}: read back {len(event_ms)} records, expected {profile.total()}")
    # The event-time clock starts with the first event. The wall clock starts that much later
    # than the first event as records typically took to reach the broker (the median delay),
    # so that the seconds judged are the schedule's seconds as the broker saw them.
    first_event = min(event_ms)
    delays = [append - event for event, append in zip(event_ms, append_ms)]
    typical = statistics.median_low(delays)
    least = min(delays)
    lag = sorted(delay - least for delay in delays)
    late = sorted(event - first_event for event, delay in zip(event_ms, delays)
                  if delay - typical > 100)
    late_span = (late[0] / 1000, late[-1] / 1000) if late else None
    return Pacing(
        name=name,
        round=number,
        profile=profile,
        planned_mean_rate=profile.total() / profile.seconds,
        event_time=judge(event_ms, first_event, profile),
        wall_clock=judge(append_ms, first_event + typical, profile),
        max_behind_ms=report["pacing"]["max_behind_ms"],
        mean_behind_ms=report["pacing"]["mean_behind_ms"],
        lag_p50_ms=lag[len(lag) // 2],
        lag_p99_ms=lag[math.ceil(0.99 * len(lag)) - 1],
        lag_max_ms=lag[-1],
        late_records=len(late),
        late_span=late_span,
        machine_busy=measured.machine_busy,
        machine_steal=measured.machine_steal,
        broker_cpu_seconds=measured.broker_cpu_seconds,
        broker_pauses=broker_gc_pauses(began, ended, first_event + typical),
    )


# ----- The machine and the table -----


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        memory_kib = 0
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    kafka = subprocess.run([str(KAFKA), "version"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": f"{os.cpu_count()} × {model}",
        "memory": f"{memory_kib / MIB:.0f} GiB",
        "kernel": platform.release(),
        "load": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
        "simrun": commit or "unknown",
        "kafka": kafka or "unknown",
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def percent(value: float, signed: bool = False) -> str:
    return f"{value * 100:+.2f}%" if signed else f"{value * 100:.2f}%"


def spread(values: list[float]) -> str:
    """Every round's figure, after the median that the table judges."""
    if len(values) < 2:
        return ""
    return " (rounds: " + ", ".join(f"{value * 100:.2f}" for value in values) + ")"


def pacing_rounds(results: dict) -> dict[str, list["Pacing"]]:
    """The pacing runs by shape, in the order they ran."""
    shapes: dict[str, list[Pacing]] = {}
    for pace in results.get("pacing", []):
        shapes.setdefault(pace.name, []).append(pace)
    return shapes


def table(results: dict) -> str:
    rows: list[tuple[str, str, str, str]] = []
    gen = results.get("generation")
    if gen:
        rows.append(("1 generation, 1 core, null sink", f"{gen.events_per_second:,.0f} events/s",
                     f">= {TARGET_EVENTS_PER_SECOND:,}/s",
                     verdict(gen.events_per_second >= TARGET_EVENTS_PER_SECOND)))
        rows.append(("  time per event", f"{gen.ns_per_event:.0f} ns", "", ""))
        rows.append(("  peak RSS", f"{gen.peak_rss_mib:.1f} MiB", f"<= {TARGET_RSS_MIB} MiB",
                     verdict(gen.peak_rss_mib <= TARGET_RSS_MIB)))
    dl = results.get("delivery")
    if dl:
        ratio = statistics.median(dl.ratios())
        rows.append((f"2 delivery, median of {len(dl.rounds)} rounds", "", "", ""))
        for side, name in ((0, "simrun"), (1, "ProducerPerformance")):
            rows.append((f"  {name}",
                         f"{dl.median(side, 'records_per_second'):,.0f} records/s, "
                         f"{dl.median(side, 'mib_per_second'):.1f} MiB/s", "", ""))
        rows.append(("  ratio simrun / ProducerPerformance",
                     f"{ratio:.2f} (rounds: {', '.join(f'{r:.2f}' for r in dl.ratios())})",
                     f">= {TARGET_DELIVERY_RATIO:.1f}", verdict(ratio >= TARGET_DELIVERY_RATIO)))
    for name, rounds in pacing_rounds(results).items():
        profile = rounds[0].profile
        shape = (f"{profile.start:,.0f}/s" if profile.start == profile.end
                 else f"{profile.start:,.0f} -> {profile.end:,.0f}/s")
        median_of = f", median of {len(rounds)} rounds" if len(rounds) > 1 else ""
        rows.append((f"3 pacing, {name} {shape}, {profile.seconds} s{median_of}", "", "", ""))
        for label, clock in (("event time", "event_time"), ("wall clock", "wall_clock")):
            errors = [getattr(pace, clock).mean_rate_error for pace in rounds]
            error = statistics.median(errors)
            rows.append((f"  mean rate error, {label}", percent(error, True) + spread(errors),
                         f"within ±{TARGET_MEAN_RATE_ERROR * 100:.1f}%",
                         verdict(abs(error) <= TARGET_MEAN_RATE_ERROR)))
            deviations = [getattr(pace, clock).p99_deviation for pace in rounds]
            deviation = statistics.median(deviations)
            rows.append((f"  p99 per-second deviation, {label}",
                         percent(deviation) + spread(deviations),
                         f"<= {TARGET_P99_DEVIATION * 100:.0f}%",
                         verdict(deviation <= TARGET_P99_DEVIATION)))
    mem = results.get("memory")
    if mem and gen:
        growth = mem.peak_rss_mib / gen.peak_rss_mib - 1
        rows.append(("4 memory, 10x longer run", f"{mem.peak_rss_mib:.1f} MiB peak RSS "
                     f"({percent(growth, True)} vs 1)", f"within {TARGET_RSS_GROWTH:.0%}",
                     verdict(abs(growth) <= TARGET_RSS_GROWTH)))
    widths = [max(len(row[i]) for row in rows + [("measurement", "result", "target", "")])
              for i in range(4)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(("measurement", "result", "target", ""),
                                                  widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def details(results: dict) -> str:
    """Per-run figures behind the table: the spread and where the CPU went."""
    lines = []
    gen = results.get("generation")
    if gen:
        lines.append("generation runs (events/s): "
                     + ", ".join(f"{rate:,.0f}" for rate in gen.runs))
    mem = results.get("memory")
    if mem:
        lines.append(f"memory run: {mem.events:,} events at {mem.events_per_second:,.0f} events/s")
    dl = results.get("delivery")
    if dl:
        lines.append(f"delivery: {dl.records:,} records, {dl.average_size:.2f} bytes on average "
                     f"(simrun: key and value; ProducerPerformance: {round(dl.average_size)}-byte "
                     "values, no key)")
        lines.append("  round  tool                 records/s   MiB/s   client CPU s  "
                     "broker CPU s  machine busy (stolen)")
        for number, pair in enumerate(dl.rounds, 1):
            for run in pair:
                broker = ("n/a" if run.broker_cpu_seconds is None
                          else f"{run.broker_cpu_seconds:.1f}")
                lines.append(f"  {number:<5}  {run.tool:<19} {run.records_per_second:>10,.0f} "
                             f"{run.mib_per_second:>7.1f} {run.client_cpu_seconds:>13.1f} "
                             f"{broker:>13}  {run.machine_busy:>12.0%} "
                             f"({run.machine_steal:.0%})")
    for pace in results.get("pacing", []):
        lines.append(f"pacing {pace.name}, round {pace.round}: planned mean {pace.planned_mean_rate:,.0f}/s; "
                     f"achieved {pace.event_time.mean_rate:,.1f}/s by event time, "
                     f"{pace.wall_clock.mean_rate:,.1f}/s by wall clock; worst second "
                     f"{pace.wall_clock.worst_second} by wall clock")
        lines.append(f"  delay from event time to the broker, beyond the quickest record's: "
                     f"median {pace.lag_p50_ms} ms, p99 {pace.lag_p99_ms} ms, "
                     f"max {pace.lag_max_ms} ms")
        if pace.late_span:
            lines.append(f"  {pace.late_records:,} records arrived more than 100 ms late, due "
                         f"between {pace.late_span[0]:.2f} s and {pace.late_span[1]:.2f} s")
        lines.append(f"  simrun's own report: at most {pace.max_behind_ms:.1f} ms behind "
                     f"schedule, {pace.mean_behind_ms:.2f} ms on average")
        broker = ("n/a" if pace.broker_cpu_seconds is None
                  else f"{pace.broker_cpu_seconds:.1f} CPU s")
        lines.append(f"  machine during the run: {pace.machine_busy:.0%} busy, "
                     f"{pace.machine_steal:.1%} stolen by the hypervisor; broker {broker}")
        if pace.broker_pauses:
            longest = max(pace.broker_pauses, key=lambda pause: pause[1])
            total = sum(ms for _, ms in pace.broker_pauses)
            lines.append(f"  broker GC: {len(pace.broker_pauses)} pauses, {total:.0f} ms in all, "
                         f"the longest {longest[1]:.0f} ms at second {longest[0]:.2f}")
    return "\n".join(lines)


def as_json(value):
    if hasattr(value, "__dataclass_fields__"):
        return {name: as_json(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, (list, tuple)):
        return [as_json(item) for item in value]
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    return value


# ----- Putting it together -----


def build() -> None:
    say("building simrun (release) ...")
    result = subprocess.run(
        [CARGO, "build", "--release", "--bin", "simrun", "--example", "record-bytes"],
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise BenchError("cargo build --release failed; fix the build, then run make bench again")


def broker_ready() -> None:
    status = subprocess.run([str(KAFKA), "status"], cwd=ROOT, capture_output=True, text=True)
    if status.returncode != 0:
        raise BenchError(f"no Kafka broker answers on {BOOTSTRAP}; start one with "
                         "`make kafka-up` (make bench does this itself)")


def settle(limit_seconds: float = 60) -> None:
    """Waits until the broker has been nearly idle (under a tenth of a core) for two seconds
    running, so that one measurement does not pay for the last one's writes; at most
    `limit_seconds`, after which it says so and goes on."""
    pid = broker_pid()
    began, quiet = time.monotonic(), 0
    while pid is not None and quiet < 2:
        before = process_cpu_seconds(pid)
        time.sleep(1)
        after = process_cpu_seconds(pid)
        if before is None or after is None:
            return
        quiet = quiet + 1 if after - before < 0.1 else 0
        if time.monotonic() - began > limit_seconds:
            say(f"warning: the broker stayed busy for {limit_seconds:.0f} s; measuring anyway")
            return


def delete_topics(run_id: str) -> None:
    """Deletes every topic this run created; they only take disk space afterwards."""
    pattern = f".*-{run_id}(-r[0-9]+)?"
    deleted = kafka_tool("org.apache.kafka.tools.TopicCommand", "--bootstrap-server", BOOTSTRAP,
                         "--delete", "--if-exists", "--topic", pattern)
    if deleted.returncode != 0:
        say(f"warning: could not delete this run's topics ({pattern}); delete them with "
            "TopicCommand --delete or wipe the local broker with `make kafka-clean`")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(PARTS),
                        help="comma-separated parts to run: " + ", ".join(PARTS))
    parser.add_argument("--rounds", type=int, default=7,
                        help="delivery rounds, each simrun then ProducerPerformance (default 7)")
    parser.add_argument("--pacing-rounds", type=int, default=3,
                        help="pacing rounds, each the constant rate then the ramp, whose median "
                        "is reported (default 3)")
    parser.add_argument("--generation-runs", type=int, default=3,
                        help="generation runs whose median is reported (default 3)")
    parser.add_argument("-X", dest="property", action="append", default=[], metavar="KEY=VALUE",
                        help="an extra producer property for simrun's delivery runs only, to "
                        "try a setting; the table then no longer measures the defaults")
    parser.add_argument("--no-build", action="store_true", help="use the binaries as built")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    parts = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    if "memory" in parts and "generation" not in parts:
        parser.error("memory is judged against generation; add generation to --only")

    run_id = format(int(time.time()), "x")
    results: dict = {}
    try:
        if not args.no_build:
            build()
        setting = machine()
        if args.property:
            setting["simrun -X"] = " ".join(args.property)
        say("machine: " + ", ".join(f"{key} {value}" for key, value in setting.items()))
        if os.getloadavg()[0] > 0.5:
            say("warning: the machine is busy (load average above 0.5); other work shares the "
                "cores with simrun and the broker and lowers every figure")
        with tempfile.TemporaryDirectory(prefix="simrun-bench-") as scratch:
            directory = Path(scratch)
            if "generation" in parts:
                say("generation: bench/scenarios/generation.yaml, null sink, taskset -c 0 ...")
                results["generation"] = generation(SCENARIOS / "generation.yaml",
                                                   args.generation_runs)
            if "memory" in parts:
                say("memory: bench/scenarios/generation-long.yaml, null sink, taskset -c 0 ...")
                results["memory"] = generation(SCENARIOS / "generation-long.yaml", 1)
            if "delivery" in parts or "pacing" in parts:
                broker_ready()
                try:
                    # Pacing first: it is the measurement most disturbed by a broker still
                    # busy with the gigabytes the delivery rounds write.
                    if "pacing" in parts:
                        results["pacing"] = []
                        for number in range(1, args.pacing_rounds + 1):
                            for name, file in (("constant", "pacing-constant.yaml"),
                                               ("ramp", "pacing-ramp.yaml")):
                                settle()
                                say(f"pacing, round {number}: bench/scenarios/{file} at speed 1 "
                                    "(30 s) ...")
                                results["pacing"].append(
                                    pacing(name, number, file, run_id, directory))
                    if "delivery" in parts:
                        settle()
                        results["delivery"] = delivery(args.rounds, run_id, directory,
                                                       args.property)
                finally:
                    delete_topics(run_id)
    except BenchError as error:
        say(f"error: {error}")
        return 1

    print()
    print("simrun benchmark: " + ", ".join(f"{key} {value}" for key, value in setting.items()))
    print()
    print(table(results))
    print()
    print(details(results))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = args.json or RESULTS / f"results-{run_id}.json"
    path.write_text(json.dumps({"machine": setting, **as_json(results)}, indent=2) + "\n")
    print(f"\nresults written to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
