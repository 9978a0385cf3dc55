"""The vision side of Molmo: CLIP ViT encoder and the connector (padding embeddings, 2x2 attention
pooling, SwiGLU projector). Paper section 2: "Vision encoder" and "Vision-language connector".

Input: crops as flattened 14x14x3 patches, ``images`` [B, N, 576, 588], and ``image_masks``
[B, N, 576] (share of each patch covered by the image). Output: 144 features per crop in the
decoder's width, [B, N, 144, hidden_size], to be added at ``image_input_idx``.

    >>> from molmo_agent.model import MolmoConfig
    >>> from molmo_agent.model.vision import VisionBackbone
    >>> backbone = VisionBackbone(MolmoConfig.from_pretrained("tests/fixtures/molmo-tiny-qwen2"))
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from molmo_agent.model.configuration_molmo import MolmoConfig, VisionConfig


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, head_dim: int) -> torch.Tensor:
    """Bidirectional multi-head attention in float32 (the reference's ``float32_attention``)."""
    batch, q_len, kv_len = q.shape[0], q.shape[1], k.shape[1]
    q = q.float().view(batch, q_len, heads, head_dim).transpose(1, 2)
    k = k.float().view(batch, kv_len, -1, head_dim).transpose(1, 2)
    v = v.float().view(batch, kv_len, -1, head_dim).transpose(1, 2)
    out = F.scaled_dot_product_attention(q, k, v, enable_gqa=q.shape[1] != k.shape[1])
    return out.transpose(1, 2).reshape(batch, q_len, heads * head_dim)


class ViTAttention(nn.Module):
    """Multi-head dot-product attention with separate q/k/v/o projections (``wq, wk, wv, wo``)."""

    def __init__(self, vision: VisionConfig, input_dim: int | None = None) -> None:
        super().__init__()
        input_dim = input_dim or vision.image_emb_dim
        self.heads, self.head_dim = vision.image_num_heads, vision.image_head_dim
        kv_width = vision.image_num_key_value_heads * vision.image_head_dim
        self.wq = nn.Linear(input_dim, self.heads * self.head_dim)
        self.wk = nn.Linear(input_dim, kv_width)
        self.wv = nn.Linear(input_dim, kv_width)
        self.wo = nn.Linear(self.heads * self.head_dim, vision.image_emb_dim)

    def forward(self, inputs_q: torch.Tensor, inputs_kv: torch.Tensor | None = None) -> torch.Tensor:
        inputs_kv = inputs_q if inputs_kv is None else inputs_kv
        out = _attend(self.wq(inputs_q), self.wk(inputs_kv), self.wv(inputs_kv), self.heads, self.head_dim)
        return self.wo(out.to(inputs_q.dtype))


class ViTMLP(nn.Module):
    def __init__(self, vision: VisionConfig) -> None:
        super().__init__()
        if vision.image_mlp_activations != "quick_gelu":
            raise ValueError(f"unsupported ViT activation {vision.image_mlp_activations!r}")
        self.w1 = nn.Linear(vision.image_emb_dim, vision.image_mlp_dim)
        self.w2 = nn.Linear(vision.image_mlp_dim, vision.image_emb_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.w1(x)
        return self.w2(h * torch.sigmoid(1.702 * h))  # quick_gelu, as in OpenAI CLIP


class ViTBlock(nn.Module):
    def __init__(self, vision: VisionConfig) -> None:
        super().__init__()
        self.attention = ViTAttention(vision)
        self.feed_forward = ViTMLP(vision)
        self.attention_norm = nn.LayerNorm(vision.image_emb_dim, eps=vision.image_norm_eps)
        self.ffn_norm = nn.LayerNorm(vision.image_emb_dim, eps=vision.image_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.attention_norm(x))
        return x + self.feed_forward(self.ffn_norm(x))


class ViTBlocks(nn.Module):
    def __init__(self, vision: VisionConfig) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList(ViTBlock(vision) for _ in range(vision.image_num_layers))


class VisionTransformer(nn.Module):
    """CLIP ViT: linear patch embedding, class token, learned positions, pre-LN, pre-norm blocks."""

    def __init__(self, vision: VisionConfig) -> None:
        super().__init__()
        width = vision.image_emb_dim
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros(vision.image_num_pos, width))
        self.patch_embedding = nn.Linear(vision.image_patch_size**2 * 3, width, bias=False)
        self.pre_ln = nn.LayerNorm(width, eps=vision.image_norm_eps)
        self.transformer = ViTBlocks(vision)

    def forward(self, patches: torch.Tensor, keep_layers: set[int]) -> dict[int, torch.Tensor]:
        """patches [B, 576, 588] -> outputs of the blocks in ``keep_layers`` (non-negative indices).

        Blocks after the deepest kept one are not run.
        """
        x = self.patch_embedding(patches)
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat((cls, x), dim=1) + self.positional_embedding.to(x.dtype)
        x = F.layer_norm(x.float(), x.shape[-1:], self.pre_ln.weight.float(), self.pre_ln.bias.float(),
                         self.pre_ln.eps).to(x.dtype)
        kept = {}
        for index, block in enumerate(self.transformer.resblocks[: max(keep_layers) + 1]):
            x = block(x)
            if index in keep_layers:
                kept[index] = x
        return kept


class ImageProjector(nn.Module):
    """SwiGLU MLP from pooled ViT features to the decoder width: ``w2(silu(w1 x) * w3 x)``."""

    def __init__(self, config: MolmoConfig) -> None:
        super().__init__()
        width, hidden = config.vision.image_emb_dim, config.intermediate_size // 2
        self.w1 = nn.Linear(width, hidden, bias=False)
        self.w3 = nn.Linear(width, hidden, bias=False)
        self.w2 = nn.Linear(hidden, config.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class VisionBackbone(nn.Module):
    """ViT features of two layers -> padding embeddings -> 2x2 attention pooling -> projector."""

    def __init__(self, config: MolmoConfig) -> None:
        super().__init__()
        self.config = config
        vision = config.vision
        feature_dim = vision.image_emb_dim * len(config.vit_layers)
        self.image_vit = VisionTransformer(vision)
        self.image_pooling_2d = ViTAttention(vision, input_dim=feature_dim)
        self.image_projector = ImageProjector(config)
        if config.image_padding_embed == "pad_and_partial_pad":
            self.pad_embed = nn.Parameter(torch.zeros(2, feature_dim))
        elif config.image_padding_embed in ("pad_embed", "regress"):
            self.pad_embed = nn.Parameter(torch.zeros(feature_dim))
        else:
            self.pad_embed = None
        num_layers = vision.image_num_layers
        self.feature_layers = [layer % num_layers for layer in config.vit_layers]

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """[B, N, 576, 588] -> concatenated ViT features [B, N, 576, feature_dim], class token dropped."""
        batch, crops, patches, pixels = images.shape
        flat = images.reshape(batch * crops, patches, pixels)
        is_real_crop = ~(flat == -1).all(dim=(1, 2))  # batch-padding crops are all -1
        kept = self.image_vit(flat, set(self.feature_layers))
        features = torch.cat([kept[layer] for layer in self.feature_layers], dim=-1)[:, 1:]
        features = features * is_real_crop[:, None, None].to(features.dtype)
        return features.view(batch, crops, patches, -1)

    def add_padding_embeddings(self, features: torch.Tensor, image_masks: torch.Tensor) -> torch.Tensor:
        """Tell the model which patches are padding: row 0 where the mask is 0, row 1 where partial.

        The comparisons follow the reference exactly, including masks of -1 (batch padding and the
        last-crop quirk), which count as partial padding.
        """
        kind = self.config.image_padding_embed
        if kind is None:
            return features
        pad = self.pad_embed.to(features.dtype)
        if kind == "pad_and_partial_pad":
            all_pad = (image_masks == 0).to(features.dtype)
            partial = ((image_masks < 1) & (image_masks != 0)).to(features.dtype)
            return features + pad[0] * all_pad[..., None] + pad[1] * partial[..., None]
        if kind == "pad_embed":
            return features + pad * (image_masks == 0).to(features.dtype)[..., None]
        return features + pad * image_masks.clamp(min=0).to(features.dtype)[..., None]  # "regress"

    def pool(self, features: torch.Tensor) -> torch.Tensor:
        """2x2 attention pooling whose query is the mean of the 4 patches: [B, N, 144, vit width]."""
        batch, crops, _, channels = features.shape
        side = self.config.vision.patches_per_side
        ph, pw = self.config.image_pooling_h, self.config.image_pooling_w
        grid = features.view(batch * crops, side // ph, ph, side // pw, pw, channels)
        windows = grid.permute(0, 1, 3, 2, 4, 5).reshape(-1, ph * pw, channels)
        pooled = self.image_pooling_2d(windows.mean(dim=1, keepdim=True), windows)
        return pooled.view(batch, crops, (side // ph) * (side // pw), -1)

    def forward(self, images: torch.Tensor, image_masks: torch.Tensor | None) -> torch.Tensor:
        features = self.encode_image(images)
        if image_masks is not None:
            features = self.add_padding_embeddings(features, image_masks)
        return self.image_projector(self.pool(features))


__all__ = ["ImageProjector", "VisionBackbone", "VisionTransformer"]
