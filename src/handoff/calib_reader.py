"""ONNX Runtime calibration data of this set, written by calibset.

To quantize, run quantize_ort.py beside this file: it runs quant_pre_process,
keeps a detection head's post-processing in float and calibrates with
@TEXT@, the method the set's report advises:

    python quantize_ort.py model.onnx model.int8.onnx

By hand, name the method (quantize_static's default is MinMax) and see
quantize_ort.py for the nodes to keep in float:

    from onnxruntime.quantization import quantize_static, CalibrationMethod
    from calib_reader import CalibReader
    quantize_static("model.onnx", "model.int8.onnx", CalibReader(),
                    calibrate_method=CalibrationMethod.@METHOD@,
                    extra_options=@EXTRA@)

Each image of calib.npy (beside this file: @N@ images of shape (@SHAPE@),
dtype @DTYPE@) is one calibration sample, preprocessed as PREPROCESSING says,
in one line:

    @DESCRIBED@

Check it against the model's deployment preprocessing.
"""
import json
import os

import numpy as np
from onnxruntime.quantization import CalibrationDataReader

HERE = os.path.dirname(os.path.abspath(__file__))
INPUT_NAME = @INPUT@
PREPROCESSING = json.loads(@PREPROCESSING@)


class CalibReader(CalibrationDataReader):
    """Yields {input_name: batch} over calib.npy, then None."""

    def __init__(self, input_name=None, batch_size=1, path=None):
        self.input_name = input_name or INPUT_NAME
        self.batch_size = int(batch_size)
        self.data = np.load(path or os.path.join(HERE, "calib.npy"), mmap_mode="r")
        self.next = 0
        self.end = len(self.data)

    def get_next(self):
        if self.next >= self.end:
            return None
        stop = min(self.next + self.batch_size, self.end)
        batch = np.ascontiguousarray(self.data[self.next : stop])
        self.next = stop
        return {self.input_name: batch}

    def rewind(self):
        self.next = 0
        self.end = len(self.data)

    def set_range(self, start_index, end_index):
        """Batches start_index..end_index only (quantize_static's CalibStridedMinMax)."""
        self.next = min(int(start_index) * self.batch_size, len(self.data))
        self.end = min(int(end_index) * self.batch_size, len(self.data))

    def __len__(self):
        return (len(self.data) + self.batch_size - 1) // self.batch_size
