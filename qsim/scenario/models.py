"""The typed, frozen scenario: what to simulate, in base units.

A `Scenario` is pure specification. It holds no random state, schedules
nothing and reads no files once built; the engine turns it into runtime
objects. Every field has a default, so a scenario file only says what
differs. Where a default comes from AWS, the comment names the fact in
`shared/aws-facts.md` (§ numbers); the README lists them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from qsim.scenario.distributions import DurationDistribution, SizeDistribution
from qsim.scenario.traces import read_trace
from qsim.scenario.units import Duration, Rate, Size

__all__ = [
    "Autoscaling",
    "Backend",
    "Diurnal",
    "Frontend",
    "Function",
    "Output",
    "Pricing",
    "Queue",
    "Scaling",
    "Scenario",
    "Slowdown",
    "Stage",
    "SweepSpec",
    "Trace",
    "Window",
    "Workload",
]

MAX_MESSAGE_BYTES = 1024**2  # §1.14: 1 MiB since August 2025


class _Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, validate_default=True
    )


class Window(_Spec):
    """A stretch of simulated time: `{start: 10m, duration: 10m}`."""

    start: Duration = Field(ge=0)
    duration: Duration = Field(gt=0)

    @property
    def end(self) -> float:
        return self.start + self.duration


class Slowdown(Window):
    """Extra latency added to every call served within a window."""

    extra: Duration = Field(gt=0)


class _Faults(_Spec):
    """Failure settings shared by every component."""

    availability: float = Field(1.0, gt=0, le=1)
    mean_outage: Duration = Field("1m", gt=0)
    outages: tuple[Window, ...] = ()
    error_rate: float = Field(0.0, ge=0, le=1)
    slowdowns: tuple[Slowdown, ...] = ()


# --- workload ---------------------------------------------------------------


class Stage(_Spec):
    """One k6-style stage: hold (step) or ramp to (linear) `rate`."""

    duration: Duration = Field(gt=0)
    rate: Rate


class Diurnal(_Spec):
    """A sinusoidal daily profile: mean x (1 + amplitude x cos(...))."""

    mean_rate: Rate
    amplitude: float = Field(0.5, ge=0, le=1)
    period: Duration = Field("1d", gt=0)
    peak_at: Duration = Field("14h", ge=0)


class Trace(_Spec):
    """Arrivals replayed from a CSV file, read when the scenario loads.

    `timestamps`: one arrival per line, in seconds (or `unit: ms`) or as
    ISO 8601 date-times, replayed relative to the first. `counts`: one
    line per second holding that second's arrival count (the last
    column is used, so `second,count` rows work too).
    """

    file: str
    format: Literal["timestamps", "counts"] = "timestamps"
    unit: Literal["s", "ms"] = "s"
    speedup: float = Field(1.0, gt=0)
    values: tuple[float, ...] = Field(default=(), exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _load(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, str):
            data = {"file": data}
        if (info.context or {}).get("read_files") is False:
            return data  # a saved result: the replayed times are not needed
        if isinstance(data, dict) and "file" in data and not data.get("values"):
            base = Path((info.context or {}).get("base_dir", "."))
            fmt = data.get("format", "timestamps")
            data = {**data, "values": read_trace(base / str(data["file"]), fmt)}
        return data


class Workload(_Spec):
    """The producers: when requests arrive and what their messages weigh."""

    arrivals: Literal["poisson", "constant", "trace"] = "poisson"
    rate: Rate | None = None
    stages: tuple[Stage, ...] = ()
    ramp: Literal["step", "linear"] = "step"
    start_rate: Rate = 0.0
    diurnal: Diurnal | None = None
    trace: Trace | None = None
    message_size: SizeDistribution = Field(default="1KB")
    poison_fraction: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _one_profile(self) -> Workload:
        given = [
            key
            for key, value in (
                ("rate", self.rate),
                ("stages", self.stages),
                ("diurnal", self.diurnal),
            )
            if value not in (None, ())
        ]
        if self.arrivals == "trace":
            if self.trace is None:
                raise ValueError("arrivals: trace needs a trace: {file: ...} section")
            if given:
                raise ValueError(f"arrivals: trace takes no {given[0]}")
        elif self.trace is not None:
            raise ValueError("trace is only read with arrivals: trace")
        elif len(given) != 1:
            raise ValueError(
                "give exactly one of rate, stages or diurnal"
                + (f" (got {', '.join(given)})" if given else "")
            )
        size = self.message_size
        if getattr(size, "value", 0) > MAX_MESSAGE_BYTES:
            raise ValueError(
                f"message_size is at most 1MB (§1.14), got {size.value:.0f} bytes"
            )
        return self


# --- SQS --------------------------------------------------------------------


class Queue(_Faults):
    """An SQS standard queue, spread over `partitions` servers."""

    partitions: int = Field(16, ge=1, le=1024)
    short_poll_sample: float = Field(0.5, gt=0, le=1)
    receive_wait_time: Duration = Field("20s", ge=0, le=20)  # §1.7, §4.4
    visibility_timeout: Duration = Field("30s", ge=0, le=43200)  # §1.10
    max_receive_count: int | None = Field(None, ge=1, le=1000)  # §1.19
    retention_period: Duration = Field("4d", ge=60, le=14 * 86400)  # §1.12
    delay: Duration = Field("0s", ge=0, le=900)  # §1.13
    duplicate_probability: float = Field(0.0, ge=0, le=1)  # §1.4
    in_flight_limit: int = Field(120_000, ge=1)  # §1.16
    short_poll_interval: Duration = Field("20ms", gt=0)
    # With function.invoke_latency, fitted to the measured SQS -> Lambda
    # delivery (§7.1): p50 16 ms, p99 105 ms end to end for a warm function.
    send_latency: DurationDistribution = Field(
        default={"dist": "lognormal", "median": "8ms", "p99": "20ms"}
    )


# --- Lambda -----------------------------------------------------------------

SCALING_PRESETS: dict[str, dict[str, Any]] = {
    # §5.1: the behaviour AWS described in 2021.
    "classic": {
        "initial_concurrency": 5,
        "min_concurrency": 5,
        "scale_up_per_minute": 60,
        "max_concurrency": 1000,
    },
    # §5.2, §5.4: faster polling scale-up documented since 2023.
    "faster": {
        "initial_concurrency": 5,
        "min_concurrency": 2,
        "scale_up_per_minute": 300,
        "max_concurrency": 1250,
    },
    # §5.6, §5.7: provisioned mode, two pollers of ten invokes each at least.
    "provisioned": {
        "initial_concurrency": 20,
        "min_concurrency": 20,
        "scale_up_per_minute": 1000,
        "max_concurrency": 20000,
    },
}


class Scaling(_Spec):
    """The event source mapping's poller scaler.

    The preset fills every field left out. The scale-down and back-off
    figures are qsim's choices: AWS documents neither rate.
    """

    preset: Literal["classic", "faster", "provisioned"] = "classic"
    initial_concurrency: int | None = Field(None, ge=1)
    min_concurrency: int | None = Field(None, ge=1)
    scale_up_per_minute: float | None = Field(None, gt=0)
    max_concurrency: int | None = Field(None, ge=1)
    scale_down_per_minute: float = Field(60.0, ge=0)
    scale_down_after: Duration = Field("1m", ge=0)
    backoff_fraction: float = Field(0.2, ge=0, le=1)
    throttle_retry_delay: Duration = Field("1s", gt=0)
    interval: Duration = Field("1s", gt=0, le=60)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = {"preset": data}
        if not isinstance(data, dict):
            return data
        preset = SCALING_PRESETS.get(data.get("preset", "classic"))
        if preset is None:
            return data  # the Literal check reports the bad name
        return {**preset, **{k: v for k, v in data.items() if v is not None}}

    @model_validator(mode="after")
    def _ordered(self) -> Scaling:
        low, start = self.min_concurrency or 1, self.initial_concurrency or 1
        if not low <= start <= (self.max_concurrency or start):
            raise ValueError(
                "needs min_concurrency <= initial_concurrency <= max_concurrency, "
                f"got {low}, {start}, {self.max_concurrency}"
            )
        return self


class Function(_Faults):
    """The Lambda function and its SQS event source mapping."""

    memory: Size = Field("128MB", ge=128 * 1024**2, le=10240 * 1024**2)
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    timeout: Duration = Field("3s", gt=0, le=900)  # §6.10
    batch_size: int = Field(10, ge=1, le=10000)  # §4.1
    batching_window: Duration = Field("0s", ge=0, le=300)  # §4.2
    maximum_concurrency: int | None = Field(None, ge=2, le=1000)  # §4.8
    reserved_concurrency: int | None = Field(None, ge=0)  # §6.8
    account_concurrency: int = Field(1000, ge=1)  # §6.7
    report_batch_item_failures: bool = False  # §4.6
    failure_visibility_timeout: Duration | None = Field(None, ge=0, le=43200)
    scaling: Scaling = Field(default_factory=Scaling)
    init_duration: DurationDistribution = Field(
        default={"dist": "lognormal", "median": "200ms", "p99": "800ms"}
    )
    idle_environment_lifetime: Duration = Field("10m", gt=0)  # §6.15
    invoke_latency: DurationDistribution = Field(  # see queue.send_latency
        default={"dist": "lognormal", "median": "7ms", "p99": "100ms"}
    )
    invocation_overhead: DurationDistribution = Field(default="1ms")
    payload_limit: Size = Field("6MB", gt=0)  # §4.3

    @model_validator(mode="after")
    def _provisioned_alone(self) -> Function:
        if self.scaling.preset == "provisioned" and self.maximum_concurrency:
            raise ValueError(
                "maximum_concurrency cannot be combined with scaling preset "
                "provisioned (AWS rejects it, §5.6)"
            )
        return self


# --- synchronous services ---------------------------------------------------


class Autoscaling(_Spec):
    """Target-tracking autoscaling of a service's instances, EC2 style."""

    target_utilization: float = Field(0.6, gt=0, le=1)
    evaluation_period: Duration = Field("1m", gt=0)
    startup_delay: Duration = Field("2m", ge=0)
    min_instances: int = Field(1, ge=1)
    max_instances: int = Field(10, ge=1)
    cooldown: Duration = Field("5m", ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Autoscaling:
        if self.max_instances < self.min_instances:
            raise ValueError(
                f"max_instances ({self.max_instances}) is below "
                f"min_instances ({self.min_instances})"
            )
        return self


class _Service(_Faults):
    """A pool of workers with a FIFO wait queue (one per instance)."""

    workers: int = Field(16, ge=1)
    instances: int = Field(1, ge=1)
    service_time: DurationDistribution = Field(
        default={"dist": "exponential", "mean": "100ms"}
    )
    max_queue: int | None = Field(None, ge=0)
    timeout: Duration | None = Field(None, gt=0)
    autoscaling: Autoscaling | None = None


class Frontend(_Service):
    """Service A: takes the user's request in both topologies."""

    workers: int = Field(64, ge=1)
    service_time: DurationDistribution = Field(
        default={"dist": "exponential", "mean": "5ms"}
    )


class Backend(_Service):
    """Service B's work: per message in Lambda, per request when synchronous."""


# --- money and output -------------------------------------------------------


class Pricing(_Spec):
    """Unit prices in USD; `region` picks the defaults (see qsim.cost)."""

    region: Literal["ap-northeast-1", "us-east-1"] = "ap-northeast-1"
    sqs_per_million_requests: float | None = Field(None, ge=0)
    lambda_per_million_requests: float | None = Field(None, ge=0)
    lambda_per_gb_second: float | None = Field(None, ge=0)
    frontend_instance_hour: float | None = Field(None, ge=0)
    backend_instance_hour: float | None = Field(None, ge=0)


class Output(_Spec):
    """What a run records beyond the summary."""

    timeseries_interval: Duration | None = Field(None, gt=0)
    keep_messages: bool = False


class SweepSpec(_Spec):
    """A sweep carried by the scenario file (see `qsim sweep`)."""

    vary: dict[str, tuple[Any, ...]] = Field(default_factory=dict)
    zip: bool = False
    replications: int = Field(5, ge=1)


class Scenario(_Spec):
    """One simulation: a workload against the sync and async topologies."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    duration: Duration = Field(gt=0, le=366 * 86400)
    seed: int = Field(0, ge=0)
    topologies: tuple[Literal["sync", "async"], ...] = ("sync", "async")
    workload: Workload
    frontend: Frontend | None = None
    backend: Backend = Field(default_factory=Backend)
    queue: Queue = Field(default_factory=Queue)
    function: Function = Field(default_factory=Function)
    pricing: Pricing = Field(default_factory=Pricing)
    output: Output = Field(default_factory=Output)
    sweep: SweepSpec | None = None

    @model_validator(mode="after")
    def _topologies(self) -> Scenario:
        if not self.topologies or len(set(self.topologies)) != len(self.topologies):
            raise ValueError(
                "topologies must list sync, async or both, once each, "
                f"got {list(self.topologies)}"
            )
        return self
