"""Configuration: the options an App runs with (from the command line; a reset may change
some), their defaults, and the fixed ids of the emulated management and inference keys.
"""

from dataclasses import dataclass

DEFAULT_MGMT_KEY = "xai-emulator-management-key"
DEFAULT_API_KEY = "xai-emulator-inference-key"
DEFAULT_TEAM_ID = "2d7a3c1e-8f4b-4c6a-9e21-5b0d7f3a9c44"
MGMT_KEY_ID = "5c1d9e7a-3f2b-4a8c-b6e4-9d0f1a2b3c4d"
INFERENCE_KEY_ID = "0b6f4e2d-8a1c-4d3e-9f5a-7c2e1d0b9a8f"

FILES_MAX_BYTES = 50 * 1024 * 1024      # Files API upload limit (413 above)


@dataclass
class Config:
    mgmt_key: str = DEFAULT_MGMT_KEY
    api_key: str = DEFAULT_API_KEY
    team_id: str = DEFAULT_TEAM_ID
    seed: str = "sample"
    keys: int = 1000
    collections: int = 10
    documents: int = 100
    latency_ms: int = 0
    process_delay: float = 1.0
    files_max_bytes: int = FILES_MAX_BYTES
    quiet: bool = False
