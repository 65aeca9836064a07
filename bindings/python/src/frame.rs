//! Frames as Python hands them over: NumPy arrays (read in place, only the face region copied
//! when a box is given), encoded bytes, paths, and raw pixels (what the Python layer makes of a
//! PIL image).

use std::path::PathBuf;

use emotion_core::face::CropRegion;
use emotion_core::{FaceBox, Frame, PixelFormat};
use numpy::PyReadonlyArrayDyn;
use numpy::ndarray::{ArrayView3, Axis, Ix3, s};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString, PyTuple};

use crate::errors::{Failure, Outcome};

/// Margin the engine (and the server) put around a face box: the region copied out of a large
/// frame must cover it.
const CROP_MARGIN: f32 = 0.1;

/// A frame taken from Python, owned, ready to cross to another thread.
#[derive(Debug)]
pub enum Input {
    Encoded(Vec<u8>),
    Path(PathBuf),
    Pixels {
        data: Vec<u8>,
        width: u32,
        height: u32,
        format: PixelFormat,
        /// Where the copied region starts in the caller's frame: boxes in answers are moved
        /// back by it.
        origin: (u32, u32),
    },
}

/// One frame with its face boxes, in the coordinates of the data it holds.
#[derive(Debug)]
pub struct Job {
    pub input: Input,
    pub faces: Vec<FaceBox>,
}

/// A job made ready for a backend: the payload, its face boxes, and the corner of the copied
/// region in the caller's frame.
pub type Prepared<T> = (T, Vec<FaceBox>, (u32, u32));

impl Job {
    pub fn origin(&self) -> (u32, u32) {
        match self.input {
            Input::Pixels { origin, .. } => origin,
            _ => (0, 0),
        }
    }

    /// The frame for the engine (reading a path from disk).
    pub fn into_frame(self) -> Outcome<Prepared<Frame>> {
        let origin = self.origin();
        let frame = match self.input {
            Input::Encoded(bytes) => Frame::Encoded(bytes),
            Input::Path(path) => Frame::Encoded(read_path(&path)?),
            Input::Pixels {
                data,
                width,
                height,
                format,
                ..
            } => Frame::Pixels {
                data,
                width,
                height,
                stride: width as usize * format.channels(),
                format,
            },
        };
        Ok((frame, self.faces, origin))
    }

    /// Encoded bytes for the server: files as they are, pixels as a JPEG (quality 90).
    pub fn into_encoded(self) -> Outcome<Prepared<Vec<u8>>> {
        let origin = self.origin();
        let bytes = match self.input {
            Input::Encoded(bytes) => bytes,
            Input::Path(path) => read_path(&path)?,
            Input::Pixels {
                data,
                width,
                height,
                format,
                ..
            } => encode_jpeg(&data, width, height, format)?,
        };
        Ok((bytes, self.faces, origin))
    }
}

fn read_path(path: &std::path::Path) -> Outcome<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        let class = crate::errors::Class::InvalidImage;
        Failure::new(
            class,
            "unreadable_file",
            format!("cannot read {}: {e}", path.display()),
        )
    })
}

fn encode_jpeg(data: &[u8], width: u32, height: u32, format: PixelFormat) -> Outcome<Vec<u8>> {
    use image::ExtendedColorType;
    use image::codecs::jpeg::JpegEncoder;
    let color = match format {
        PixelFormat::Gray8 => ExtendedColorType::L8,
        _ => ExtendedColorType::Rgb8,
    };
    let mut out = Vec::with_capacity(data.len() / 8 + 1024);
    JpegEncoder::new_with_quality(&mut out, 90)
        .encode(data, width, height, color)
        .map_err(|e| {
            Failure::new(
                crate::errors::Class::InvalidImage,
                "invalid_pixels",
                format!("cannot encode the frame as JPEG: {e}"),
            )
        })?;
    Ok(out)
}

/// How the bytes of a pixel are to be copied: as they are (the engine reads any layout), or
/// packed as RGB (or gray) for a JPEG.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packing {
    Native,
    Rgb,
}

/// Parses `face_bounds`: `None`, a dict `{"x","y","width","height"}`, a 4-sequence, an object
/// with those attributes, or a list of any of them (several faces).
pub fn face_boxes(value: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<FaceBox>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    if value.is_none() {
        return Ok(Vec::new());
    }
    if let Ok(one) = face_box(value) {
        return Ok(vec![one]);
    }
    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyDict>() {
        return Err(bounds_error());
    }
    let mut boxes = Vec::new();
    for item in value.try_iter().map_err(|_| bounds_error())? {
        boxes.push(face_box(&item?)?);
    }
    Ok(boxes)
}

fn bounds_error() -> PyErr {
    PyTypeError::new_err(
        "face_bounds must be {'x','y','width','height'}, an (x, y, width, height) sequence, or a list of them",
    )
}

fn face_box(value: &Bound<'_, PyAny>) -> PyResult<FaceBox> {
    if let Ok(dict) = value.cast::<PyDict>() {
        let get = |k: &str| -> PyResult<f64> {
            dict.get_item(k)?
                .ok_or_else(|| PyValueError::new_err(format!("face_bounds has no `{k}`")))?
                .extract()
        };
        return Ok(FaceBox {
            x: get("x")?,
            y: get("y")?,
            width: get("width")?,
            height: get("height")?,
        });
    }
    if let Ok((x, y, width, height)) = value.extract::<(f64, f64, f64, f64)>() {
        return Ok(FaceBox {
            x,
            y,
            width,
            height,
        });
    }
    if value.hasattr("width")? && value.hasattr("x")? {
        return Ok(FaceBox {
            x: value.getattr("x")?.extract()?,
            y: value.getattr("y")?.extract()?,
            width: value.getattr("width")?.extract()?,
            height: value.getattr("height")?.extract()?,
        });
    }
    Err(bounds_error())
}

fn pixel_format(channels: usize, order: &str) -> PyResult<PixelFormat> {
    let bgr = match order.to_ascii_lowercase().as_str() {
        "rgb" | "rgba" => false,
        "bgr" | "bgra" => true,
        other => {
            return Err(PyValueError::new_err(format!(
                "channel_order must be 'rgb' or 'bgr', not {other:?}"
            )));
        }
    };
    Ok(match (channels, bgr) {
        (1, _) => PixelFormat::Gray8,
        (3, false) => PixelFormat::Rgb8,
        (3, true) => PixelFormat::Bgr8,
        (4, false) => PixelFormat::Rgba8,
        (4, true) => PixelFormat::Bgra8,
        (n, _) => {
            return Err(PyValueError::new_err(format!(
                "a frame array must be HxW, HxWx3 or HxWx4; it has {n} channels"
            )));
        }
    })
}

/// Takes a frame from Python. Pixels are copied (the engine owns its frames), with Python
/// detached, and only the region the model will read when one face box is given.
pub fn take(
    py: Python<'_>,
    frame: &Bound<'_, PyAny>,
    face_bounds: Option<&Bound<'_, PyAny>>,
    channel_order: &str,
    packing: Packing,
) -> PyResult<Job> {
    let faces = face_boxes(face_bounds)?;
    if let Ok(bytes) = frame.cast::<PyBytes>() {
        let slice = bytes.as_bytes();
        let data = py.detach(|| slice.to_vec());
        return Ok(Job {
            input: Input::Encoded(data),
            faces,
        });
    }
    if let Ok(bytes) = frame.cast::<PyByteArray>() {
        return Ok(Job {
            input: Input::Encoded(bytes.to_vec()),
            faces,
        });
    }
    if frame.is_instance_of::<PyString>() || frame.hasattr("__fspath__")? {
        return Ok(Job {
            input: Input::Path(frame.extract()?),
            faces,
        });
    }
    // `(data, width, height, mode)`: raw pixels, as the Python layer passes a PIL image.
    if let Ok(tuple) = frame.cast::<PyTuple>() {
        let (data, width, height, mode): (Bound<'_, PyBytes>, u32, u32, String) =
            tuple.extract()?;
        let channels = match mode.as_str() {
            "L" => 1,
            "RGB" => 3,
            "RGBA" => 4,
            other => {
                return Err(PyValueError::new_err(format!(
                    "raw pixels in mode {other:?}: use L, RGB or RGBA"
                )));
            }
        };
        let format = pixel_format(channels, "rgb")?;
        let bytes = data.as_bytes();
        let expected = width as usize * height as usize * channels;
        if bytes.len() != expected {
            return Err(PyValueError::new_err(format!(
                "raw pixels: {} bytes for {width}x{height}x{channels}",
                bytes.len()
            )));
        }
        let view = ArrayView3::from_shape((height as usize, width as usize, channels), bytes)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        return py.detach(|| copy_region(view, format, faces, packing));
    }
    if frame.hasattr("__array_interface__")? || frame.hasattr("__array__")? {
        let array: PyReadonlyArrayDyn<'_, u8> = frame.extract().map_err(|_| {
            PyTypeError::new_err("a frame array must be a NumPy uint8 array (HxW, HxWx3 or HxWx4)")
        })?;
        let view = array.as_array();
        let view = match view.ndim() {
            2 => view.insert_axis(Axis(2)),
            3 => view,
            n => {
                return Err(PyValueError::new_err(format!(
                    "a frame array must be HxW, HxWx3 or HxWx4; it has {n} dimensions"
                )));
            }
        };
        let view = view
            .into_dimensionality::<Ix3>()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let format = pixel_format(view.shape()[2], channel_order)?;
        return py.detach(|| copy_region(view, format, faces, packing));
    }
    Err(PyTypeError::new_err(format!(
        "cannot read a frame from {}: pass a NumPy array, encoded bytes, a path or a PIL image",
        frame.get_type().name()?
    )))
}

/// Copies the pixels the engine will read: with one face box, the crop region around it
/// (clamped to the frame, one pixel of slack so that rounding matches the whole frame's);
/// else everything. The box is moved into the copy's coordinates.
fn copy_region(
    view: ArrayView3<'_, u8>,
    format: PixelFormat,
    mut faces: Vec<FaceBox>,
    packing: Packing,
) -> PyResult<Job> {
    let (height, width) = (view.shape()[0], view.shape()[1]);
    let (w32, h32) = (
        u32::try_from(width).map_err(|_| PyValueError::new_err("the frame is too wide"))?,
        u32::try_from(height).map_err(|_| PyValueError::new_err("the frame is too tall"))?,
    );
    if width == 0 || height == 0 {
        return Err(Failure::new(
            crate::errors::Class::InvalidImage,
            "invalid_pixels",
            format!("invalid pixel buffer: the frame is {width}x{height} pixels"),
        )
        .into());
    }
    let (mut x0, mut y0, mut x1, mut y1) = (0usize, 0usize, width, height);
    if let [face] = faces.as_slice() {
        // A box the engine would refuse is left for the engine to refuse, with its message.
        if let Ok(resolved) = face.resolve(w32, h32) {
            let region = CropRegion::around_face(&resolved, CROP_MARGIN);
            let clamp = |v: i64, max: usize| v.clamp(0, max as i64) as usize;
            x0 = clamp(region.x - 1, width);
            y0 = clamp(region.y - 1, height);
            x1 = clamp(region.x + i64::from(region.width) + 1, width);
            y1 = clamp(region.y + i64::from(region.height) + 1, height);
            if x1 > x0 && y1 > y0 {
                faces = vec![FaceBox {
                    x: f64::from(resolved.x) - x0 as f64,
                    y: f64::from(resolved.y) - y0 as f64,
                    width: f64::from(resolved.width),
                    height: f64::from(resolved.height),
                }];
            } else {
                (x0, y0, x1, y1) = (0, 0, width, height);
            }
        }
    }
    let region = view.slice(s![y0..y1, x0..x1, ..]);
    let channels = format.channels();
    let (out_format, out_channels) = match (packing, format) {
        (Packing::Native, f) => (f, channels),
        (Packing::Rgb, PixelFormat::Gray8) => (PixelFormat::Gray8, 1),
        (Packing::Rgb, _) => (PixelFormat::Rgb8, 3),
    };
    let order: [usize; 3] = match format {
        PixelFormat::Bgr8 | PixelFormat::Bgra8 => [2, 1, 0],
        _ => [0, 1, 2],
    };
    let mut data = Vec::with_capacity((y1 - y0) * (x1 - x0) * out_channels);
    for row in region.outer_iter() {
        match (row.as_slice(), out_format == format) {
            (Some(bytes), true) => data.extend_from_slice(bytes),
            (Some(bytes), false) => {
                for px in bytes.chunks_exact(channels) {
                    data.extend_from_slice(&[px[order[0]], px[order[1]], px[order[2]]]);
                }
            }
            (None, true) => data.extend(row.iter().copied()),
            (None, false) => {
                for px in row.outer_iter() {
                    data.extend_from_slice(&[px[order[0]], px[order[1]], px[order[2]]]);
                }
            }
        }
    }
    Ok(Job {
        input: Input::Pixels {
            data,
            width: (x1 - x0) as u32,
            height: (y1 - y0) as u32,
            format: out_format,
            origin: (x0 as u32, y0 as u32),
        },
        faces,
    })
}
