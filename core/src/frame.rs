//! Frames as they arrive (encoded bytes, base64, data URLs, raw pixels), decoded under limits.

use std::io::Cursor;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use image::{DynamicImage, ImageFormat, ImageReader};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::error::{Error, Result};

/// Limits applied before any pixel is allocated, against oversized uploads and decompression bombs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one encoded image (after base64 decoding).
    pub max_bytes: usize,
    /// Pixels along either side.
    pub max_side: u32,
    /// Pixels in all (width × height).
    pub max_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1024 * 1024,
            max_side: 8192,
            max_pixels: 4096 * 4096,
        }
    }
}

/// The layout of raw pixels handed over by a caller (a canvas, a game engine, a NumPy array).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    Gray8,
    Rgb8,
    Rgba8,
    Bgr8,
    Bgra8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub const fn channels(self) -> usize {
        match self {
            PixelFormat::Gray8 => 1,
            PixelFormat::Rgb8 | PixelFormat::Bgr8 => 3,
            PixelFormat::Rgba8 | PixelFormat::Bgra8 => 4,
        }
    }

    /// Byte offsets of red, green and blue within one pixel (all 0 for gray).
    pub(crate) const fn rgb_offsets(self) -> [usize; 3] {
        match self {
            PixelFormat::Gray8 => [0, 0, 0],
            PixelFormat::Rgb8 | PixelFormat::Rgba8 => [0, 1, 2],
            PixelFormat::Bgr8 | PixelFormat::Bgra8 => [2, 1, 0],
        }
    }
}

/// What the next step needs of the pixels: a gray model reads only luma, so a JPEG is then
/// decoded to its luma plane alone (JPEG's Y is BT.601 luma), skipping chroma and colour conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channels {
    Gray,
    Color,
}

/// An input frame, not yet decoded. Decoding is CPU work: the engine does it off the async executor.
#[derive(Clone, Debug)]
pub enum Frame {
    /// An encoded JPEG, PNG or WebP file.
    Encoded(Vec<u8>),
    /// The same, as base64 text or a `data:image/...;base64,` URL.
    Base64(String),
    /// Raw pixels, `stride` bytes per row.
    Pixels {
        data: Vec<u8>,
        width: u32,
        height: u32,
        stride: usize,
        format: PixelFormat,
    },
}

/// Base64 as browsers and Python write it: standard alphabet, padding optional.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl Frame {
    /// Decodes the frame into pixels, refusing anything over `limits` before allocating it.
    /// `channels` is a hint: raw pixels and most formats keep their own layout.
    pub fn decode(self, limits: &Limits, channels: Channels) -> Result<Image> {
        match self {
            Frame::Encoded(bytes) => decode_encoded(&bytes, limits, channels),
            Frame::Base64(text) => decode_encoded(&decode_base64(&text, limits)?, limits, channels),
            Frame::Pixels {
                data,
                width,
                height,
                stride,
                format,
            } => Image::from_pixels(data, width, height, stride, format, limits),
        }
    }
}

/// Decodes base64 text or a data URL, checking the size before decoding.
pub fn decode_base64(text: &str, limits: &Limits) -> Result<Vec<u8>> {
    let payload = strip_data_url(text.trim())?;
    if payload.is_empty() {
        return Err(Error::EmptyImage);
    }
    let estimate = payload.len() / 4 * 3;
    if estimate > limits.max_bytes + 3 {
        return Err(Error::ImageTooLarge {
            size: estimate,
            limit: limits.max_bytes,
        });
    }
    let bytes = BASE64
        .decode(payload)
        .map_err(|e| Error::InvalidBase64(e.to_string()))?;
    if bytes.len() > limits.max_bytes {
        return Err(Error::ImageTooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    Ok(bytes)
}

/// Returns the base64 payload of a `data:` URL, or the text itself when it is not one.
fn strip_data_url(text: &str) -> Result<&str> {
    let Some(rest) = text.strip_prefix("data:") else {
        return Ok(text);
    };
    let (header, payload) = rest
        .split_once(',')
        .ok_or_else(|| Error::InvalidBase64("the data URL has no `,` before its data".into()))?;
    if !header.ends_with(";base64") {
        return Err(Error::InvalidBase64(format!(
            "the data URL `data:{header},` is not base64-encoded"
        )));
    }
    Ok(payload)
}

/// The encoded formats the engine reads, by their magic bytes.
fn sniff_format(bytes: &[u8]) -> Result<ImageFormat> {
    match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => Ok(f),
        Ok(other) => Err(Error::UnsupportedFormat(
            format!("{other:?}").to_uppercase(),
        )),
        Err(_) => Err(Error::InvalidImage(
            "the data is not a JPEG, PNG or WebP image".into(),
        )),
    }
}

fn decode_encoded(bytes: &[u8], limits: &Limits, channels: Channels) -> Result<Image> {
    if bytes.is_empty() {
        return Err(Error::EmptyImage);
    }
    if bytes.len() > limits.max_bytes {
        return Err(Error::ImageTooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let format = sniff_format(bytes)?;
    if format == ImageFormat::Jpeg {
        return decode_jpeg(bytes, limits, channels);
    }
    // The header alone says how big the pixels will be: refuse a bomb before allocating it.
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| Error::InvalidImage(e.to_string()))?;
    check_dimensions(width, height, limits)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    reader.limits(decoder_limits);
    let decoded = reader
        .decode()
        .map_err(|e| Error::InvalidImage(e.to_string()))?;
    Ok(Image::from_dynamic(decoded))
}

/// JPEG through zune-jpeg directly, to choose the output colour space (luma alone when that is
/// all the model needs: about half the work of a colour decode).
fn decode_jpeg(bytes: &[u8], limits: &Limits, channels: Channels) -> Result<Image> {
    let (colorspace, format) = match channels {
        Channels::Gray => (ColorSpace::Luma, PixelFormat::Gray8),
        Channels::Color => (ColorSpace::RGB, PixelFormat::Rgb8),
    };
    let options = DecoderOptions::default()
        .set_max_width(limits.max_side as usize)
        .set_max_height(limits.max_side as usize)
        .jpeg_set_out_colorspace(colorspace);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    let invalid = |e: zune_jpeg::errors::DecodeErrors| Error::InvalidImage(e.to_string());
    // The header alone says how big the pixels will be: refuse a bomb before allocating it.
    decoder.decode_headers().map_err(invalid)?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| Error::InvalidImage("the JPEG has no frame header".into()))?;
    let (width, height) = (
        u32::try_from(width).unwrap_or(u32::MAX),
        u32::try_from(height).unwrap_or(u32::MAX),
    );
    check_dimensions(width, height, limits)?;
    if !jpeg_is_complete(bytes) {
        // The decoder fills a cut-off scan with gray instead of failing; we would classify a
        // half-gray face without a word.
        return Err(Error::InvalidImage(
            "the JPEG is truncated (no end-of-image marker)".into(),
        ));
    }
    let data = decoder.decode().map_err(invalid)?;
    let stride = width as usize * format.channels();
    Image::from_pixels(data, width, height, stride, format, limits)
}

/// A complete JPEG ends with the EOI marker, possibly followed by padding some encoders add.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Refuses an image with no pixels or over the size limits (before anything is allocated for it).
pub fn check_dimensions(width: u32, height: u32, limits: &Limits) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::InvalidImage(format!(
            "the image is {width}x{height} pixels"
        )));
    }
    if width > limits.max_side
        || height > limits.max_side
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(Error::DimensionsTooLarge {
            width,
            height,
            max_side: limits.max_side,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(())
}

/// Decoded pixels, 8 bits a channel, in the layout they came in (no conversion of the whole frame:
/// only the face region is ever converted).
#[derive(Clone, Debug)]
pub struct Image {
    data: Vec<u8>,
    width: u32,
    height: u32,
    stride: usize,
    format: PixelFormat,
}

impl Image {
    /// Wraps caller pixels after checking that the buffer holds `height` rows of `stride` bytes.
    pub fn from_pixels(
        data: Vec<u8>,
        width: u32,
        height: u32,
        stride: usize,
        format: PixelFormat,
        limits: &Limits,
    ) -> Result<Image> {
        check_dimensions(width, height, limits)?;
        let row = width as usize * format.channels();
        if stride < row {
            return Err(Error::InvalidPixels(format!(
                "stride {stride} is shorter than a row of {width} {format:?} pixels ({row} bytes)"
            )));
        }
        let needed = stride * (height as usize - 1) + row;
        if data.len() < needed {
            return Err(Error::InvalidPixels(format!(
                "{} bytes given, {width}x{height} {format:?} pixels with stride {stride} need {needed}",
                data.len()
            )));
        }
        Ok(Image {
            data,
            width,
            height,
            stride,
            format,
        })
    }

    fn from_dynamic(decoded: DynamicImage) -> Image {
        let (width, height) = (decoded.width(), decoded.height());
        let (data, format) = match decoded {
            DynamicImage::ImageLuma8(b) => (b.into_raw(), PixelFormat::Gray8),
            DynamicImage::ImageRgb8(b) => (b.into_raw(), PixelFormat::Rgb8),
            DynamicImage::ImageRgba8(b) => (b.into_raw(), PixelFormat::Rgba8),
            DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLuma16(_) => {
                (decoded.into_luma8().into_raw(), PixelFormat::Gray8)
            }
            other => (other.into_rgb8().into_raw(), PixelFormat::Rgb8),
        };
        let stride = width as usize * format.channels();
        Image {
            data,
            width,
            height,
            stride,
            format,
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Channel `c` (0 red, 1 green, 2 blue) of pixel `x` of `row` (from [`Image::row`]); a gray
    /// pixel gives its one value for each.
    pub(crate) fn channel(&self, row: &[u8], x: u32, c: usize) -> u8 {
        row[x as usize * self.format.channels() + self.format.rgb_offsets()[c]]
    }

    /// One row of raw pixels.
    pub(crate) fn row(&self, y: u32) -> &[u8] {
        let start = y as usize * self.stride;
        &self.data[start..start + self.width as usize * self.format.channels()]
    }

    /// Writes the RGB of row `y`, columns `xs`, into `out` (3 bytes a pixel).
    pub(crate) fn rgb_row(&self, y: u32, xs: impl Iterator<Item = u32>, out: &mut [u8]) {
        let row = self.row(y);
        let channels = self.format.channels();
        let [r, g, b] = self.format.rgb_offsets();
        for (o, x) in out.chunks_exact_mut(3).zip(xs) {
            let p = &row[x as usize * channels..];
            o.copy_from_slice(&[p[r], p[g], p[b]]);
        }
    }

    /// Writes the luma (ITU-R BT.601, as OpenCV's and fer's gray) of row `y`, columns `xs`, into `out`.
    pub(crate) fn luma_row(&self, y: u32, xs: impl Iterator<Item = u32>, out: &mut [u8]) {
        let row = self.row(y);
        let channels = self.format.channels();
        if self.format == PixelFormat::Gray8 {
            for (o, x) in out.iter_mut().zip(xs) {
                *o = row[x as usize];
            }
            return;
        }
        let [r, g, b] = self.format.rgb_offsets();
        for (o, x) in out.iter_mut().zip(xs) {
            let p = &row[x as usize * channels..];
            // OpenCV's fixed-point weights (14 bits), so gray matches what fer saw in training.
            let luma =
                4899 * u32::from(p[r]) + 9617 * u32::from(p[g]) + 1868 * u32::from(p[b]) + 8192;
            *o = (luma >> 14) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::GrayImage::new(width, height)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn data_urls_and_plain_base64_decode_alike() {
        let bytes = png(4, 3);
        let b64 = BASE64.encode(&bytes);
        let limits = Limits::default();
        assert_eq!(decode_base64(&b64, &limits).unwrap(), bytes);
        let url = format!("data:image/png;base64,{b64}");
        assert_eq!(decode_base64(&url, &limits).unwrap(), bytes);
        let unpadded = b64.trim_end_matches('=');
        assert_eq!(decode_base64(unpadded, &limits).unwrap(), bytes);
    }

    #[test]
    fn base64_errors_name_the_problem() {
        let limits = Limits::default();
        assert_eq!(decode_base64("", &limits), Err(Error::EmptyImage));
        assert!(matches!(
            decode_base64("not base64!!", &limits),
            Err(Error::InvalidBase64(_))
        ));
        assert!(matches!(
            decode_base64("data:image/png,abc", &limits),
            Err(Error::InvalidBase64(m)) if m.contains("not base64")
        ));
        let small = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            decode_base64(&BASE64.encode([0u8; 100]), &small),
            Err(Error::ImageTooLarge { .. })
        ));
    }

    #[test]
    fn decodes_png_in_its_own_layout() {
        let img = Frame::Encoded(png(5, 2))
            .decode(&Limits::default(), Channels::Color)
            .unwrap();
        assert_eq!(
            (img.width(), img.height(), img.format()),
            (5, 2, PixelFormat::Gray8)
        );
    }

    #[test]
    fn refuses_oversized_dimensions_from_the_header() {
        let limits = Limits {
            max_side: 4,
            ..Limits::default()
        };
        assert!(matches!(
            Frame::Encoded(png(5, 2)).decode(&limits, Channels::Gray),
            Err(Error::DimensionsTooLarge {
                width: 5,
                height: 2,
                ..
            })
        ));
    }

    #[test]
    fn raw_pixels_are_checked_against_their_stride() {
        let limits = Limits::default();
        let ok = Image::from_pixels(vec![0; 2 * 16], 3, 2, 16, PixelFormat::Rgba8, &limits);
        assert!(ok.is_ok());
        let short_stride = Image::from_pixels(vec![0; 64], 3, 2, 8, PixelFormat::Rgba8, &limits);
        assert!(matches!(short_stride, Err(Error::InvalidPixels(m)) if m.contains("stride")));
        let short_data = Image::from_pixels(vec![0; 20], 3, 2, 12, PixelFormat::Rgba8, &limits);
        assert!(matches!(short_data, Err(Error::InvalidPixels(m)) if m.contains("need 24")));
    }

    #[test]
    fn luma_follows_bt601_in_any_channel_order() {
        let limits = Limits::default();
        let rgb = Image::from_pixels(vec![255, 0, 0], 1, 1, 3, PixelFormat::Rgb8, &limits).unwrap();
        let bgr = Image::from_pixels(vec![0, 0, 255], 1, 1, 3, PixelFormat::Bgr8, &limits).unwrap();
        let mut a = [0u8];
        let mut b = [0u8];
        rgb.luma_row(0, 0..1, &mut a);
        bgr.luma_row(0, 0..1, &mut b);
        assert_eq!(a, [76]);
        assert_eq!(a, b);
    }
}
