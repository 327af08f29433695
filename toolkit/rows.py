"""The row base that parity and bench results share: which artifact ran where, and what went wrong."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from toolkit.errors import describe_failure
from toolkit.labels import artifact_label


@dataclass
class ResultRow:
    model: str
    target: str
    quantization: str
    runtime: str  # a runtime variant label ("tfjs-node-wasm", "litert", "keras-call")
    batch: int
    error: str | None = None  # one line: the stage that failed ("runtime error: ...") and why
    # unavailable | timeout | runtime | inputs | export | skipped | mismatch: lets reports tell a
    # missing runtime from a wrong answer without parsing `error`.
    error_kind: str | None = None

    @property
    def artifact(self) -> str:
        return artifact_label(self.target, self.quantization)

    @property
    def unavailable(self) -> bool:
        """The runtime could not start on this machine: nothing was checked, nothing failed."""
        return self.error_kind == "unavailable"

    def record_failure(self, error: BaseException) -> None:
        self.error_kind, self.error = describe_failure(error)

    def to_json(self) -> dict:
        return asdict(self)
