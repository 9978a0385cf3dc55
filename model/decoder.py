"""The language decoder of Molmo: Qwen2-style, OLMo-style and OLMoE (mixture-of-experts) blocks.

All three share one block shape (paper section 2, "LLM"): pre-norm (or, for OLMo-7B-1024,
post-norm of the sub-layer outputs), fused q|k|v projection with rotary embeddings, grouped-query
attention through ``scaled_dot_product_attention``, and a SwiGLU feed-forward that is either one
dense MLP or a routed mixture of experts. Module and parameter names follow the official
checkpoints (``att_proj``, ``attn_out``, ``ff_proj``, ``ff_out``, ``attn_norm``, ``ff_norm``, ...).

    >>> from molmo_agent.model import MolmoConfig
    >>> from molmo_agent.model.decoder import DecoderBlock
    >>> config = MolmoConfig(hidden_size=64, num_hidden_layers=1, num_attention_heads=4,
    ...                      num_key_value_heads=2, intermediate_size=128, vocab_size=32)
    >>> block = DecoderBlock(config)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from molmo_agent.model.configuration_molmo import MolmoConfig
from molmo_agent.model.kv_cache import KVCache


class RMSNorm(nn.Module):
    """RMS norm computed in float32, as the reference does, then scaled in the input dtype."""

    def __init__(self, size: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        normed = x.float()
        normed = normed * torch.rsqrt(normed.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * normed.to(x.dtype)


def build_norm(config: MolmoConfig, size: int | None = None) -> nn.Module:
    size = size or config.hidden_size
    if config.layer_norm_type == "rms":
        return RMSNorm(size, config.layer_norm_eps)
    return nn.LayerNorm(size, eps=config.layer_norm_eps)


class RotaryEmbedding(nn.Module):
    """Rotary position embedding, "rotate half" layout, computed in float32 for any position ids."""

    def __init__(self, head_dim: int, theta: float) -> None:
        super().__init__()
        self.head_dim, self.theta = head_dim, theta

    def forward(self, x: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        """x: [B, heads, T, head_dim]; position_ids: [B, T]."""
        # Frequencies are recomputed per call (head_dim/2 values): no buffer to materialise when a
        # model is built on the meta device and its weights are assigned from a checkpoint.
        exponents = torch.arange(0, self.head_dim, 2, dtype=torch.float32, device=x.device) / self.head_dim
        inv_freq = 1.0 / (self.theta**exponents)
        freqs = position_ids.float()[..., None] * inv_freq  # [B, T, head_dim/2]
        angles = torch.cat((freqs, freqs), dim=-1)[:, None]  # [B, 1, T, head_dim]
        x32 = x.float()
        first, second = x32.chunk(2, dim=-1)
        rotated = torch.cat((-second, first), dim=-1)
        return (x32 * angles.cos() + rotated * angles.sin()).to(x.dtype)


class MoERouter(nn.Module):
    def __init__(self, width: int, experts: int) -> None:
        super().__init__()
        self.layer = nn.Linear(width, experts, bias=False)


class StackedExperts(nn.Module):
    """All experts' SwiGLU weights, stacked as Ai2's training checkpoints store them (megablocks
    layout): ``w1`` (gate) and ``v1`` (up) [E * hidden, d], ``w2`` (down, transposed) [E * hidden, d]."""

    def __init__(self, experts: int, width: int, hidden: int) -> None:
        super().__init__()
        self.experts, self.hidden = experts, hidden
        self.w1 = nn.Parameter(torch.empty(experts * hidden, width))
        self.v1 = nn.Parameter(torch.empty(experts * hidden, width))
        self.w2 = nn.Parameter(torch.empty(experts * hidden, width))

    def expert(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = slice(index * self.hidden, (index + 1) * self.hidden)
        return self.w1[rows], self.v1[rows], self.w2[rows]


class MoEMLP(nn.Module):
    """OLMoE mixture of experts: softmax over all experts, keep the top k weights as they are.

    The k weights are deliberately not renormalised (that is how OLMoE / MolmoE were trained).
    Parameter names follow Ai2's checkpoints: ``router.layer`` and ``experts.mlp.{w1,v1,w2}``;
    the loader also reads the per-expert Hugging Face layout (see ``moe_keys.py``).
    """

    def __init__(self, config: MolmoConfig) -> None:
        super().__init__()
        self.top_k = config.moe_top_k
        self.router = MoERouter(config.hidden_size, config.moe_num_experts)
        self.experts = nn.Module()
        self.experts.mlp = StackedExperts(config.moe_num_experts, config.hidden_size, config.expert_hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        tokens = x.reshape(-1, shape[-1])
        probs = F.softmax(self.router.layer(tokens), dim=-1, dtype=torch.float32)
        weights, chosen = probs.topk(self.top_k, dim=-1)  # [N, k]
        out = torch.zeros_like(tokens)
        # Loop over the experts that received tokens: each does one dense matmul on its tokens.
        for expert in chosen.unique().tolist():
            token_idx, slot = (chosen == expert).nonzero(as_tuple=True)
            gate, up, down_t = self.experts.mlp.expert(expert)
            h = tokens[token_idx]
            h = (F.silu(h @ gate.T) * (h @ up.T)) @ down_t
            out.index_add_(0, token_idx, h * weights[token_idx, slot, None].to(h.dtype))
        return out.reshape(shape)


class DecoderBlock(nn.Module):
    """One decoder layer: attention and feed-forward, each with a residual connection.

    Parameters sit directly on the block, named as in the checkpoints: ``att_proj`` (fused
    q|k|v), ``attn_out``, ``attn_norm``, ``ff_norm``, ``q_norm``/``k_norm`` when the config has
    them, and either ``ff_proj``/``ff_out`` (dense SwiGLU, rows [up | gate]) or ``ffn`` (experts).
    """

    def __init__(self, config: MolmoConfig) -> None:
        super().__init__()
        self.config = config
        self.num_heads, self.num_kv_heads = config.num_attention_heads, config.num_key_value_heads
        self.head_dim = config.head_dim
        kv_width = self.num_kv_heads * self.head_dim
        self.qkv_sizes = (config.hidden_size, kv_width, kv_width)
        self.att_proj = nn.Linear(config.hidden_size, sum(self.qkv_sizes), bias=config.qkv_bias)
        self.attn_out = nn.Linear(config.hidden_size, config.hidden_size, bias=False)
        self.attn_norm = build_norm(config)
        self.ff_norm = build_norm(config)
        if config.attention_layer_norm:  # OLMo / OLMoE normalise the whole q and k vectors
            self.q_norm = build_norm(config, config.hidden_size)
            self.k_norm = build_norm(config, kv_width)
        self.rotary = RotaryEmbedding(self.head_dim, config.rope_theta)
        if config.decoder_kind == "moe":
            self.ffn = MoEMLP(config)
        else:
            self.ff_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
            self.ff_out = nn.Linear(config.intermediate_size // 2, config.hidden_size, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        position_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        kv_cache: KVCache | None = None,
        layer_index: int = 0,
        dropout_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One layer. ``attention_mask`` None means plain causal attention (or, for a single new
        token, attend to everything cached); ``kv_cache`` is extended in place."""
        norm_after = self.config.norm_after  # OLMo-7B-1024 normalises sub-layer outputs instead of inputs
        att = self.attention(x if norm_after else self.attn_norm(x), position_ids, attention_mask, kv_cache, layer_index)
        if norm_after:
            att = self.attn_norm(att)
        x = x + self._dropout(att, dropout_mask)
        ff = self.feed_forward(x if norm_after else self.ff_norm(x))
        if norm_after:
            ff = self.ff_norm(ff)
        return x + self._dropout(ff, dropout_mask)

    def attention(
        self,
        x: torch.Tensor,
        position_ids: torch.Tensor,
        attention_mask: torch.Tensor | None,
        kv_cache: KVCache | None,
        layer_index: int,
    ) -> torch.Tensor:
        batch, length, _ = x.shape
        qkv = self.att_proj(x)
        if self.config.clip_qkv is not None:
            qkv = qkv.clamp(-self.config.clip_qkv, self.config.clip_qkv)
        q, k, v = qkv.split(self.qkv_sizes, dim=-1)
        if self.config.attention_layer_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q = q.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)
        k = k.view(batch, length, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v = v.view(batch, length, self.num_kv_heads, self.head_dim).transpose(1, 2)
        q, k = self.rotary(q, position_ids), self.rotary(k, position_ids)
        if kv_cache is not None:
            k, v = kv_cache.update(layer_index, k, v)
        out = F.scaled_dot_product_attention(
            q, k, v,
            attn_mask=attention_mask,
            is_causal=attention_mask is None and length > 1,
            enable_gqa=self.num_heads != self.num_kv_heads,
        )
        out = out.transpose(1, 2).reshape(batch, length, self.config.hidden_size)
        return self.attn_out(out)

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.decoder_kind == "moe":
            return self.ffn(x)
        up, gate = self.ff_proj(x).chunk(2, dim=-1)
        return self.ff_out(F.silu(gate) * up)

    def _dropout(self, h: torch.Tensor, dropout_mask: torch.Tensor | None) -> torch.Tensor:
        """Residual dropout, only where ``dropout_mask`` is set (the paper drops text tokens only)."""
        p = self.config.residual_dropout
        if not self.training or p == 0.0 or dropout_mask is None:
            return h
        return torch.where(dropout_mask[..., None], F.dropout(h, p, training=True), h)


__all__ = ["DecoderBlock", "StackedExperts", "MoEMLP", "RMSNorm", "RotaryEmbedding", "build_norm"]
