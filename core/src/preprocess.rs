//! From a decoded frame and a crop region to the exact input a model takes.

use std::cell::RefCell;
use std::sync::Arc;

use fast_image_resize::images::{Image as ResizeImage, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use xxhash_rust::xxh3::xxh3_128;

use crate::error::{Error, Result};
use crate::face::CropRegion;
use crate::frame::{Channels, Image};

/// Side of the embedded model's square gray input.
pub const GRAY_SIDE: u32 = 64;
const GRAY_LEN: usize = (GRAY_SIDE * GRAY_SIDE) as usize;

/// What a classifier wants to be fed. Each backend names its own, so the frame is prepared once
/// for the backend that will see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputSpec {
    /// 64x64 gray pixels, as fer's mini-XCEPTION was trained on.
    Gray64,
    /// An RGB JPEG of at most 224x224 (what ViT-style remote models resize to anyway): a few KB
    /// on the wire instead of the whole frame.
    RgbJpeg224,
}

impl InputSpec {
    /// The channels the decoder must keep for this input.
    pub fn channels(self) -> Channels {
        match self {
            InputSpec::Gray64 => Channels::Gray,
            InputSpec::RgbJpeg224 => Channels::Color,
        }
    }
}

/// A prepared model input: 64x64 gray pixels, row-major, before normalisation.
#[derive(Clone, PartialEq, Eq)]
pub struct GrayFace(Box<[u8; GRAY_LEN]>);

impl std::fmt::Debug for GrayFace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GrayFace({GRAY_SIDE}x{GRAY_SIDE})")
    }
}

impl GrayFace {
    /// Wraps 4096 gray pixels (64 rows of 64), for inputs prepared elsewhere (fixtures, the browser).
    pub fn from_pixels(pixels: &[u8]) -> Result<GrayFace> {
        let array: [u8; GRAY_LEN] = pixels.try_into().map_err(|_| {
            Error::InvalidPixels(format!(
                "a gray face is {GRAY_SIDE}x{GRAY_SIDE} = {GRAY_LEN} bytes, got {}",
                pixels.len()
            ))
        })?;
        Ok(GrayFace(Box::new(array)))
    }

    pub fn pixels(&self) -> &[u8; GRAY_LEN] {
        &self.0
    }

    /// The model's normalisation, as fer applies it: `x = (p / 255 - 0.5) * 2`, in `[-1, 1]`.
    pub fn normalised(&self) -> impl Iterator<Item = f32> + '_ {
        self.0.iter().map(|&p| (f32::from(p) / 255.0 - 0.5) * 2.0)
    }
}

/// A prepared input for one face, with the hash that keys the result cache.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelInput {
    Gray(GrayFace),
    Jpeg(Arc<[u8]>),
}

impl ModelInput {
    /// A 128-bit hash of the exact model input: equal inputs give equal results.
    pub fn fingerprint(&self) -> u128 {
        match self {
            ModelInput::Gray(face) => xxh3_128(face.pixels()),
            ModelInput::Jpeg(jpeg) => xxh3_128(jpeg),
        }
    }
}

/// Side of the RGB crop sent to remote models.
pub const REMOTE_SIDE: u32 = 224;
/// JPEG quality of that crop: faces stay sharp, the crop stays a few KB.
const REMOTE_JPEG_QUALITY: u8 = 90;

thread_local! {
    /// Per-thread scratch: the resizer keeps its buffers, the crop buffer its capacity, so a
    /// steady stream of frames allocates nothing here.
    static SCRATCH: RefCell<(Resizer, Vec<u8>)> = RefCell::new((Resizer::new(), Vec::new()));
}

/// Prepares the region of `image` as `spec` asks.
pub fn prepare(image: &Image, region: &CropRegion, spec: InputSpec) -> Result<ModelInput> {
    match spec {
        InputSpec::Gray64 => gray_face(image, region).map(ModelInput::Gray),
        InputSpec::RgbJpeg224 => rgb_jpeg(image, region).map(|j| ModelInput::Jpeg(j.into())),
    }
}

/// Fills `crop` with the region's pixels (`channels` bytes each, through `read_row`), repeating
/// edge pixels past the border.
fn gather(
    image: &Image,
    region: &CropRegion,
    channels: usize,
    crop: &mut Vec<u8>,
    read_row: impl Fn(&Image, u32, &mut dyn Iterator<Item = u32>, &mut [u8]),
) {
    let (w, h) = (region.width as usize, region.height as usize);
    crop.resize(w * h * channels, 0);
    let max_x = i64::from(image.width()) - 1;
    let max_y = i64::from(image.height()) - 1;
    for (row, out_row) in crop.chunks_exact_mut(w * channels).enumerate() {
        let y = (region.y + row as i64).clamp(0, max_y) as u32;
        let mut xs = (0..w as i64).map(|i| (region.x + i).clamp(0, max_x) as u32);
        read_row(image, y, &mut xs, out_row);
    }
}

/// RGB, edge-padded crop of `region`, shrunk to at most 224x224, as a JPEG.
pub fn rgb_jpeg(image: &Image, region: &CropRegion) -> Result<Vec<u8>> {
    let (w, h) = (region.width, region.height);
    if w == 0 || h == 0 {
        return Err(Error::InvalidFaceBounds("the crop region is empty".into()));
    }
    let scale = (f64::from(REMOTE_SIDE) / f64::from(w.max(h))).min(1.0);
    let (out_w, out_h) = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    SCRATCH.with_borrow_mut(|(resizer, crop)| {
        gather(image, region, 3, crop, |img, y, xs, out| {
            img.rgb_row(y, xs, out)
        });
        let mut resized;
        let pixels: &[u8] = if (out_w, out_h) == (w, h) {
            crop
        } else {
            let src = ImageRef::new(w, h, crop, PixelType::U8x3).map_err(internal)?;
            resized = ResizeImage::new(out_w, out_h, PixelType::U8x3);
            let options =
                ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
            resizer
                .resize(&src, &mut resized, &options)
                .map_err(internal)?;
            resized.buffer()
        };
        let mut jpeg = Vec::with_capacity(16 * 1024);
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, REMOTE_JPEG_QUALITY)
            .encode(pixels, out_w, out_h, image::ExtendedColorType::Rgb8)
            .map_err(|e| Error::Internal(format!("JPEG encoding of the face crop: {e}")))?;
        Ok(jpeg)
    })
}

/// Gray, edge-padded crop of `region`, resized (bilinear) to 64x64.
pub fn gray_face(image: &Image, region: &CropRegion) -> Result<GrayFace> {
    let (w, h) = (region.width, region.height);
    if w == 0 || h == 0 {
        return Err(Error::InvalidFaceBounds("the crop region is empty".into()));
    }
    let mut out = Box::new([0u8; GRAY_LEN]);
    SCRATCH.with_borrow_mut(|(resizer, crop)| {
        gather(image, region, 1, crop, |img, y, xs, out| {
            img.luma_row(y, xs, out)
        });
        if (w, h) == (GRAY_SIDE, GRAY_SIDE) {
            out.copy_from_slice(crop);
            return Ok(());
        }
        let src = ImageRef::new(w, h, crop, PixelType::U8).map_err(internal)?;
        let mut dst = ResizeImage::from_slice_u8(GRAY_SIDE, GRAY_SIDE, &mut out[..], PixelType::U8)
            .map_err(internal)?;
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        resizer.resize(&src, &mut dst, &options).map_err(internal)
    })?;
    Ok(GrayFace(out))
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("resize: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Limits, PixelFormat};

    fn gradient(width: u32, height: u32) -> Image {
        let data = (0..height)
            .flat_map(|y| (0..width).map(move |x| ((x + y) % 256) as u8))
            .collect();
        Image::from_pixels(
            data,
            width,
            height,
            width as usize,
            PixelFormat::Gray8,
            &Limits::default(),
        )
        .unwrap()
    }

    #[test]
    fn a_64x64_region_is_copied_exactly() {
        let img = gradient(100, 80);
        let face = gray_face(
            &img,
            &CropRegion {
                x: 10,
                y: 5,
                width: 64,
                height: 64,
            },
        )
        .unwrap();
        assert_eq!(face.pixels()[0], 15);
        assert_eq!(face.pixels()[64 + 1], 17);
    }

    #[test]
    fn pixels_past_the_edge_repeat_the_edge() {
        let img = gradient(10, 10);
        let face = gray_face(
            &img,
            &CropRegion {
                x: -54,
                y: 0,
                width: 64,
                height: 64,
            },
        )
        .unwrap();
        // Columns left of the image copy column 0; rows below copy row 9.
        assert_eq!(face.pixels()[0], 0);
        assert_eq!(face.pixels()[63 * 64], 9);
        assert_eq!(face.pixels()[63 * 64 + 63], 18);
    }

    #[test]
    fn a_uniform_image_stays_uniform_after_resizing() {
        let img = Image::from_pixels(
            vec![200; 300 * 3 * 200],
            300,
            200,
            900,
            PixelFormat::Rgb8,
            &Limits::default(),
        )
        .unwrap();
        let face = gray_face(&img, &CropRegion::whole(300, 200)).unwrap();
        assert!(face.pixels().iter().all(|&p| p == 200));
        let norm: Vec<f32> = face.normalised().take(1).collect();
        assert!((norm[0] - (200.0 / 255.0 - 0.5) * 2.0).abs() < 1e-6);
    }

    #[test]
    fn equal_inputs_share_a_fingerprint() {
        let a = ModelInput::Gray(GrayFace::from_pixels(&[7; 4096]).unwrap());
        let b = ModelInput::Gray(GrayFace::from_pixels(&[7; 4096]).unwrap());
        let c = ModelInput::Gray(GrayFace::from_pixels(&[8; 4096]).unwrap());
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert!(GrayFace::from_pixels(&[0; 10]).is_err());
    }
}
