//! The model runtime, `tract-onnx` (Cargo feature `model`): the ONNX file
//! parsed, checked against `[tensor]`, every calibrated tensor made an output,
//! and the graph optimised into a plan that runs one image at a time.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::pb;
use tract_onnx::prelude::*;

use super::load::{Model, ModelError, Node, TensorInfo};
use crate::tensor::Spec;

/// The optimised graph.
#[derive(Debug)]
pub(super) struct Plan(Arc<TypedRunnableModel>);

impl Plan {
    /// Runs the plan on one input of `shape`, handing each output's values to
    /// `each` with its index.
    pub(super) fn run(
        &self,
        shape: &[usize],
        input: Vec<f32>,
        each: &mut dyn FnMut(usize, &[f32]),
    ) -> Result<(), String> {
        let mut go = || -> TractResult<()> {
            let tensor = Tensor::from_shape(shape, &input)?;
            let outputs = self.0.run(tvec!(tensor.into()))?;
            for (k, value) in outputs.iter().enumerate() {
                each(k, value.try_as_plain_ram()?.as_slice::<f32>()?);
            }
            Ok(())
        };
        go().map_err(|e| e.to_string())
    }
}

/// Loads `path` for tensors made by `spec`.
pub(super) fn load(path: &Path, spec: &Spec) -> Result<Model, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::NotOnnx {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let onnx = tract_onnx::onnx()
        .with_ignore_output_shapes(true)
        .with_ignore_value_info(true);
    let proto = proto(path, &onnx, &bytes)?;
    let graph = proto.graph.as_ref().expect("checked by proto()");
    let input_shape: Vec<usize> = std::iter::once(1).chain(spec.shape()).collect();
    let input = check_input(path, graph, spec, &input_shape)?;
    let nodes = nodes(path, graph)?;
    let dir = path.parent().and_then(Path::to_str);
    let parsed = onnx.parse(&proto, dir).map_err(|e| plan_error(path, &e))?;
    check_implemented(path, graph, &parsed.model)?;
    let (plan, outputs) =
        optimise(parsed.model, graph, &input_shape).map_err(|e| plan_error(path, &e))?;
    let mut tensors = vec![TensorInfo {
        name: input.clone(),
        op: "Input".into(),
        node: input,
    }];
    tensors.extend(outputs);
    Ok(Model {
        path: path.to_owned(),
        hash: *blake3::hash(&bytes).as_bytes(),
        input_shape,
        tensors,
        nodes,
        plan: Plan(plan),
    })
}

/// `bytes` (read from `path`) parsed as an ONNX protobuf that has a graph.
fn proto(path: &Path, onnx: &tract_onnx::Onnx, bytes: &[u8]) -> Result<pb::ModelProto, ModelError> {
    onnx.proto_model_for_read(&mut &*bytes)
        .ok()
        .filter(|p| p.graph.is_some())
        .ok_or_else(|| ModelError::NotOnnx {
            path: path.to_owned(),
            message: "the file does not parse as an ONNX protobuf with a graph".into(),
        })
}

/// The graph's nodes as the analysis sees them; a node without an operator
/// is an error.
fn nodes(path: &Path, graph: &pb::GraphProto) -> Result<Vec<Node>, ModelError> {
    let nodes: Vec<Node> = graph
        .node
        .iter()
        .map(|n| Node {
            op: n.op_type.clone(),
            inputs: n.input.clone(),
            outputs: n.output.clone(),
        })
        .collect();
    if let Some(n) = graph.node.iter().find(|n| n.op_type.is_empty()) {
        return Err(ModelError::Operator {
            path: path.to_owned(),
            op: "(empty)".into(),
            node: n.name.clone(),
        });
    }
    Ok(nodes)
}

/// An error for the first operator of `model` the runtime does not implement,
/// named by its node in `graph`.
fn check_implemented(
    path: &Path,
    graph: &pb::GraphProto,
    model: &InferenceModel,
) -> Result<(), ModelError> {
    let Some(node) = model
        .nodes()
        .iter()
        .find(|n| n.op.name().starts_with("Unimplemented("))
    else {
        return Ok(());
    };
    let name = node.op.name();
    let op = name
        .trim_start_matches("Unimplemented(")
        .trim_end_matches(')');
    let onnx_node = graph
        .node
        .iter()
        .find(|n| n.name == node.name || n.output.first() == Some(&node.name));
    Err(ModelError::Operator {
        path: path.to_owned(),
        op: op.to_owned(),
        node: onnx_node.map_or(node.name.clone(), |n| n.name.clone()),
    })
}

/// `model` with its input fixed to `input_shape` and every float tensor of
/// `graph` made an output, optimised into a plan; with the outputs' tensors.
fn optimise(
    mut model: InferenceModel,
    graph: &pb::GraphProto,
    input_shape: &[usize],
) -> TractResult<(Arc<TypedRunnableModel>, Vec<TensorInfo>)> {
    let shape: TVec<usize> = input_shape.iter().copied().collect();
    model.set_input_fact(0, f32::fact(&shape).into())?;
    let (outlets, infos) = named_outlets(&model, graph);
    model.select_output_outlets(&outlets)?;
    let mut typed = model.into_typed()?;
    let kept = keep_f32_outputs(&mut typed, infos)?;
    let plan = typed.into_optimized()?.into_runnable()?;
    Ok((plan, kept))
}

/// Every outlet of `model` labelled with a tensor that a node of `graph`
/// outputs, in node order, with that tensor's name, operator and node.
fn named_outlets(
    model: &InferenceModel,
    graph: &pb::GraphProto,
) -> (Vec<OutletId>, Vec<TensorInfo>) {
    let op_of: std::collections::HashMap<&str, (&str, &str)> = graph
        .node
        .iter()
        .flat_map(|n| {
            n.output
                .iter()
                .map(move |o| (o.as_str(), (n.op_type.as_str(), n.name.as_str())))
        })
        .collect();
    let mut outlets = Vec::new();
    let mut infos = Vec::new();
    for node in model.nodes() {
        for slot in 0..node.outputs.len() {
            let outlet = OutletId::new(node.id, slot);
            let Some(label) = model.outlet_label(outlet) else {
                continue;
            };
            let Some(&(op, node_name)) = op_of.get(label) else {
                continue;
            };
            outlets.push(outlet);
            infos.push(TensorInfo {
                name: label.to_owned(),
                op: op.to_owned(),
                node: node_name.to_owned(),
            });
        }
    }
    (outlets, infos)
}

/// Narrows `typed`'s outputs (described by `infos`, in order) to its `f32`
/// ones: their descriptions.
fn keep_f32_outputs(
    typed: &mut TypedModel,
    infos: Vec<TensorInfo>,
) -> TractResult<Vec<TensorInfo>> {
    let outs = typed.output_outlets()?.to_vec();
    let mut kept_outlets = Vec::new();
    let mut kept = Vec::new();
    for (outlet, info) in outs.into_iter().zip(infos) {
        let fact = typed.outlet_fact(outlet)?;
        if fact.datum_type == f32::datum_type() {
            kept_outlets.push(outlet);
            kept.push(info);
        }
    }
    typed.select_output_outlets(&kept_outlets)?;
    Ok(kept)
}

/// The model's one input, checked against `spec`: its name.
fn check_input(
    path: &Path,
    graph: &pb::GraphProto,
    spec: &Spec,
    ours: &[usize],
) -> Result<String, ModelError> {
    let input = sole_input(path, graph)?;
    if let Some(name) = &spec.input
        && *name != input.name
    {
        return Err(ModelError::InputName {
            path: path.to_owned(),
            model: input.name.clone(),
            tensor: name.clone(),
        });
    }
    let Some(pb::type_proto::Value::TensorType(t)) =
        input.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Ok(input.name.clone());
    };
    if t.elem_type != pb::tensor_proto::DataType::Float as i32 {
        let dtype = pb::tensor_proto::DataType::try_from(t.elem_type)
            .map(|d| d.as_str_name().to_lowercase())
            .unwrap_or_else(|_| format!("type {}", t.elem_type));
        return Err(ModelError::InputType {
            path: path.to_owned(),
            input: input.name.clone(),
            dtype,
        });
    }
    let Some(shape) = &t.shape else {
        return Ok(input.name.clone());
    };
    let declared = declared_dims(shape);
    let agrees = declared.len() == ours.len()
        && declared
            .iter()
            .zip(ours)
            .all(|(d, &o)| d.is_none_or(|d| d as u64 == o as u64));
    if agrees {
        return Ok(input.name.clone());
    }
    let show = |dims: Vec<String>| dims.join("×");
    let model_shape = show(
        declared
            .iter()
            .map(|d| d.map_or("?".to_owned(), |v| v.to_string()))
            .collect(),
    );
    let tensor_shape = show(ours.iter().map(usize::to_string).collect());
    let hint = hint(&declared, spec);
    Err(ModelError::InputShape {
        path: path.to_owned(),
        input: input.name.clone(),
        model_shape,
        tensor_shape,
        hint,
    })
}

/// The graph's one input that is not an initializer; an error naming them
/// all when there are none or several.
fn sole_input<'g>(
    path: &Path,
    graph: &'g pb::GraphProto,
) -> Result<&'g pb::ValueInfoProto, ModelError> {
    let initializers: std::collections::HashSet<&str> =
        graph.initializer.iter().map(|i| i.name.as_str()).collect();
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !initializers.contains(i.name.as_str()))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(ModelError::Inputs {
            path: path.to_owned(),
            count: inputs.len(),
            names: inputs
                .iter()
                .map(|i| format!("`{}`", i.name))
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    Ok(input)
}

/// The dimensions `shape` declares: a positive size, or `None` when free.
fn declared_dims(shape: &pb::TensorShapeProto) -> Vec<Option<i64>> {
    shape
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) if *v > 0 => Some(*v),
            _ => None,
        })
        .collect()
}

/// What to change in `[tensor]` for the `declared` input shape.
fn hint(declared: &[Option<i64>], spec: &Spec) -> String {
    use crate::tensor::TensorLayout;
    if declared.len() != 4 {
        return format!(
            "the model's input has {} dimensions; calibset makes batch × image (4)",
            declared.len()
        );
    }
    let (c, h, w) = match spec.layout {
        TensorLayout::Nchw => (declared[1], declared[2], declared[3]),
        TensorLayout::Nhwc => (declared[3], declared[1], declared[2]),
    };
    let nhwc_like = declared[3].is_some_and(|v| v <= 4) && declared[1].is_some_and(|v| v > 4);
    let nchw_like = declared[1].is_some_and(|v| v <= 4) && declared[3].is_some_and(|v| v > 4);
    match spec.layout {
        TensorLayout::Nchw if nhwc_like => return "set tensor.layout = \"nhwc\"".into(),
        TensorLayout::Nhwc if nchw_like => return "set tensor.layout = \"nchw\"".into(),
        _ => {}
    }
    let mut fixes = Vec::new();
    if let (Some(w), Some(h)) = (w, h)
        && [w as u64, h as u64] != [u64::from(spec.size[0]), u64::from(spec.size[1])]
    {
        fixes.push(format!("set tensor.size = [{w}, {h}]"));
    }
    if let Some(c) = c
        && c != 3
    {
        fixes.push(format!("the model takes {c} channel(s)"));
    }
    if declared[0].is_some_and(|b| b != 1) {
        fixes.push("calibset runs batch 1; export the model with a free or 1 batch".into());
    }
    if fixes.is_empty() {
        "export the model with this input or change [tensor]".into()
    } else {
        fixes.join("; ")
    }
}

/// A runtime error as one line: its chain of causes.
fn plan_error(path: &Path, e: &anyhow::Error) -> ModelError {
    let message = e
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    ModelError::Plan {
        path: path.to_owned(),
        message,
    }
}
