"""What an exporter reports back besides the files it wrote."""

from dataclasses import dataclass, field


@dataclass
class ExportDetails:
    main_file: str  # the file a runtime opens, relative to the artifact folder
    rewrites: list[str] = field(default_factory=list)  # exact op rewrites applied, for the manifest
    notes: list[str] = field(default_factory=list)
    # Searched quantization (tflite int8-selective, auto): what was tried, measured and chosen; None for the rest.
    quantization_report: dict | None = None
