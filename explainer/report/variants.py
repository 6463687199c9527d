"""The sections of the pretrained models' variants of the paper's Transformer.

A Llama decoder (SmolLM2; Touvron et al. 2023, §2.2) normalises with RMSNorm,
rotates queries and keys by their position (RoPE), lets several query heads share
one key/value head (GQA) and uses a SwiGLU feed-forward network. A BERT encoder
(MiniLM; Devlin et al. 2019, §3.2) learns its position and segment embeddings and
normalises their sum, and a sentence encoder pools its last layer into one unit
vector (Reimers & Gurevych 2019, §3). The paper's own sections are built by
:class:`~explainer.report.sections.Builder`.
"""

from __future__ import annotations

from explainer.report import figures
from explainer.report import variant_figures as vf
from explainer.report.grouping import stage_key
from explainer.report.sections import Builder, Section
from explainer.report.tables import indices, shape_text
from explainer.trace import Op, Stage


class VariantBuilder(Builder):
    """:class:`Builder` with the sections of the Llama and BERT variants."""

    # --- BERT (MiniLM) ----------------------------------------------------------

    def _learned(self, sec: Section, stages: list[Stage]) -> None:
        """E[ids] + P[0…T−1] + S[0], then LayerNorm (Devlin et al. 2019, §3.2)."""
        captions = {
            "positions": "P[0…T−1]: learned position rows",
            "segments": "S[0]: the segment row, for every token",
            "with_positions": "E[ids] + P",
            "sum": "E[ids] + P + S",
            "norm": "LayerNorm(E[ids] + P + S)",
        }
        for stage in stages:
            self._matrix(sec, stage.name, captions.get(stage.name.rsplit(".")[-1], ""))
        norm = next((s for s in stages if s.name.endswith(".norm")), None)
        if norm is not None:
            sec.extra["row_stats"] = figures.row_stats(self.trace[norm.inputs[0]])

    def _pooling(self, sec: Section, stages: list[Stage]) -> None:
        """The sentence vector: mean over tokens, then unit length."""
        for stage in stages:
            value = stage.value.reshape(1, -1)  # (1, d_model)
            caption = {
                "output.pooled": "mean over the tokens",
                "output.embedding": "÷ its length: the sentence embedding",
            }.get(stage.name, stage.name)
            sec.tables.append(
                self._tab(
                    stage.name,
                    value,
                    ["sentence"],
                    indices(value.shape[-1]),
                    caption=caption,
                )
            )
        if "output.pooled" in self.trace and "output.embedding" in self.trace:
            sec.extra["summary"] = vf.embedding_summary(
                self.trace["output.pooled"], self.trace["output.embedding"]
            )
        sec.extra["source"] = stages[0].inputs[0]

    # --- Llama (SmolLM2) ----------------------------------------------------------

    def _rms_norm(self, sec: Section, stages: list[Stage]) -> None:
        """γ ⊙ x / √(mean x² + ε) (Zhang & Sennrich 2019, Eq. 4)."""
        for stage in stages:
            source, gamma = stage.inputs[0], stage.inputs[1]
            self._matrix(sec, source, f"x = {source}")
            self._matrix(sec, gamma, "γ")
            self._matrix(sec, stage.name, "RMSNorm(x)")
            sec.extra["rms"] = vf.rms_rows(self.trace[source])
            sec.extra["rows"] = self.tokens(sec.stack)

    def _rope_angles(self, sec: Section, stages: list[Stage]) -> None:
        """θ_{m,i} = m ω_i, ω_i = b^(−2i/d_k) (Su et al. 2021, Eq. 15)."""
        stage = stages[0]
        inv_freq = self.trace[stage.inputs[0]]
        self._matrix(sec, stage.inputs[0], "ω_i")
        self._matrix(sec, stage.name, "θ_{m,i} = m·ω_i")
        sec.extra["base"] = vf.rope_base(inv_freq)
        sec.extra["pairs"] = inv_freq.shape[0]
        sec.extra["wavelengths"] = vf.rope_wavelengths(inv_freq)
        users = [s for s in self.trace.find(Op.ROPE) if stage.name in s.inputs]
        sec.extra["rotation"] = stage_key(users[0], self.cfg)[0] if users else None

    def _rope(self, sec: Section, stages: list[Stage]) -> None:
        """Each pair (x_{2i}, x_{2i+1}) rotated by θ_{m,i} (Su et al. 2021, Eq. 34)."""
        p = sec.stages[0].rsplit(".", 1)[0]
        for stage in stages:
            which = stage.name.rsplit(".", 1)[-1][0].upper()  # Q or K
            self._matrix(sec, stage.name, f"RoPE({which})")
        q, k = (s.inputs[0] for s in stages[:2])
        angles = stages[0].inputs[1]
        sec.extra["angles"] = angles
        sec.extra["norms"] = vf.rope_norms(self.trace[q], self.trace[sec.stages[0]])
        omega = self.trace[self.trace.stage(angles).inputs[0]]
        sec.extra["relative"] = vf.rope_relative(
            self.trace[q], self.trace[k], omega, self.trace[f"{p}.scores"]
        )

    def _gqa(self, sec: Section, stages: list[Stage]) -> None:
        """K/V head g serves query heads g·r … g·r + r − 1 (Ainslie et al. 2023)."""
        p = sec.stages[0].rsplit(".", 1)[0]
        k_heads, v_heads = f"{p}.k_heads", f"{p}.v_heads"
        k_src = self.trace.stage(k_heads).inputs[0]
        v_src = self.trace.stage(v_heads).inputs[0]
        r = self.trace[k_heads].shape[0] // self.trace[k_src].shape[0]
        shown = sorted({0, 1, r})  # two heads of group 0, the first of group 1
        self._matrix(sec, k_heads, "K, repeated", heads=shown)
        self._matrix(sec, v_heads, "V, repeated", heads=shown)
        k, v = self.trace[k_heads], self.trace[v_heads]
        sec.extra["groups"] = vf.kv_groups(self.trace[k_src], k, self.trace[v_src], v)
        sec.extra["sources"] = (k_src, v_src)
        sec.extra["w_k"] = shape_text(self.trace[f"{p}.w_k"].shape)
        sec.extra["w_q"] = shape_text(self.trace[f"{p}.w_q"].shape)

    def _swiglu(self, sec: Section, stages: list[Stage]) -> None:
        """(SiLU(x W_gate) ⊙ x W_up) W₂ (Shazeer 2020, Eq. 6)."""
        captions = {
            "gate": "x W_gate",
            "up": "x W_up",
            "activation": "SiLU(gate) ⊙ up",
            "out": "(SiLU(gate) ⊙ up) W₂: back to d_model",
        }
        for s in stages:
            self._matrix(sec, s.name, captions.get(s.name.rsplit(".", 1)[-1], ""))
        p = sec.stages[0].rsplit(".", 1)[0]
        sec.extra["curve"] = vf.silu_curve(self.trace[f"{p}.gate"])
        sec.extra["weights"] = [
            self._tab(
                f"{p}.w_{w}",
                self.trace[f"{p}.w_{w}"],
                indices(self.trace[f"{p}.w_{w}"].shape[0]),
                indices(self.trace[f"{p}.w_{w}"].shape[1]),
                caption=caption,
            )
            for w, caption in (("gate", "W_gate"), ("up", "W_up"), ("2", "W₂"))
            if f"{p}.w_{w}" in self.trace
        ]
