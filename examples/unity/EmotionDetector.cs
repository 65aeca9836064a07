// EmotionDetector.cs: C# P/Invoke wrapper of libemotion (bindings/c/include/emotion.h) for Unity and plain .NET/Mono.
//
// No UnityEngine dependency: it compiles with Mono's `mcs` and is tested that way
// (bindings/c/tests/csharp.rs). Every struct and signature below mirrors emotion.h; the test
// compares the layouts with what a C compiler says.

using System;
using System.Runtime.InteropServices;
using System.Text;

namespace FacialEmotion
{
    /// <summary>Mirrors <c>emotion_result</c>: what a native call did.</summary>
    public enum EmotionCode : uint
    {
        Ok = 0,
        /// <summary><c>emotion_poll</c>: no result since the last poll (not a failure).</summary>
        NotReady = 1,
        NullParameter = 2,
        InvalidArgument = 3,
        InvalidImage = 4,
        UnsupportedFormat = 5,
        ImageTooLarge = 6,
        InvalidPixels = 7,
        InvalidFaceBounds = 8,
        BackendError = 9,
        Unauthorized = 10,
        Unavailable = 11,
        BufferTooSmall = 12,
        Internal = 13,
        Panic = 14,
    }

    /// <summary>Mirrors <c>emotion_kind</c>: the seven emotions in the engine's (FER2013) order.</summary>
    public enum EmotionKind : uint
    {
        Angry = 0,
        Disgust = 1,
        Fear = 2,
        Happy = 3,
        Sad = 4,
        Surprise = 5,
        Neutral = 6,
    }

    /// <summary>Mirrors <c>emotion_pixel_format</c>: raw pixel layouts, 8 bits a channel.</summary>
    public enum EmotionPixelFormat : uint
    {
        /// <summary>Unity's <c>Color32</c>, <c>TextureFormat.RGBA32</c>.</summary>
        Rgba = 0,
        Rgb = 1,
        /// <summary>Unreal's <c>FColor</c>, Windows bitmaps.</summary>
        Bgra = 2,
        /// <summary>OpenCV's default.</summary>
        Bgr = 3,
        Gray = 4,
    }

    /// <summary>Mirrors <c>emotion_face_detector</c>: how faces are found in frames that come without a box.</summary>
    public enum EmotionFaceDetector : uint
    {
        /// <summary>No detector: a frame without a box is classified whole, as one face crop.</summary>
        Off = 0,
        /// <summary>BlazeFace short range: faces within about 2 m of the camera, ~5 ms a frame (the default).</summary>
        Short = 1,
        /// <summary>BlazeFace full range: faces at any distance, ~17 ms a frame.</summary>
        Full = 2,
    }

    /// <summary>Mirrors <c>emotion_config</c>. Start from <see cref="Default"/> and change what you need.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EmotionConfig
    {
        /// <summary>Threads for decoding and local inference; 0: one per core. The default, 1, leaves the other cores to the game.</summary>
        public uint Workers;
        /// <summary>Results kept for repeated identical faces; 0 turns the cache off.</summary>
        public uint CacheEntries;
        /// <summary>How long a cached result is kept, in milliseconds.</summary>
        public uint CacheTtlMs;
        /// <summary>Submit/poll smoothing in [0, 1]: 0 reports raw scores, values near 1 follow changes slowly.</summary>
        public float Smoothing;
        /// <summary>Remote clients: the longest wait for one call, in milliseconds.</summary>
        public uint TimeoutMs;
        /// <summary>Margin added around a face box on each side, as a fraction of its side.</summary>
        public float CropMargin;
        /// <summary>How faces are found in frames that come without a box (default <see cref="EmotionFaceDetector.Short"/>).</summary>
        public EmotionFaceDetector FaceDetector;
        /// <summary>At most this many found faces are classified, the largest first; 1 to <see cref="EmotionFaces.Count"/> (default 5).</summary>
        public uint MaxFaces;
        /// <summary>Found faces narrower or shorter than this many pixels are ignored (default 0).</summary>
        public uint MinFaceSize;
        /// <summary>Submit/poll: a face's track ends once the face has been missing from this many results in a row (default 15).</summary>
        public uint TrackTimeout;

        /// <summary>The library's defaults (<c>emotion_config_default</c>).</summary>
        public static EmotionConfig Default
        {
            get { return NativeMethods.emotion_config_default(); }
        }
    }

    /// <summary>Mirrors <c>emotion_rect</c>: pixels, top-left origin (or all four in [0, 1] as fractions of the image).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EmotionRect
    {
        public float X;
        public float Y;
        public float Width;
        public float Height;

        public EmotionRect(float x, float y, float width, float height)
        {
            X = x;
            Y = y;
            Width = width;
            Height = height;
        }

        public override string ToString()
        {
            return string.Format("({0}, {1}, {2}x{3})", X, Y, Width, Height);
        }
    }

    /// <summary>
    /// Mirrors <c>float scores[EMOTION_COUNT]</c> as seven fields, so that <see cref="EmotionResult"/>
    /// holds no array: marshalling a result allocates nothing on the managed heap (no GC spikes in a
    /// game loop that polls every frame).
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EmotionScores
    {
        public float Angry;
        public float Disgust;
        public float Fear;
        public float Happy;
        public float Sad;
        public float Surprise;
        public float Neutral;

        /// <summary>Number of scores (<c>EMOTION_COUNT</c>).</summary>
        public const int Count = 7;

        /// <summary>The score of one emotion.</summary>
        public float this[EmotionKind kind]
        {
            get { return this[(int)kind]; }
        }

        /// <summary>The score at an <see cref="EmotionKind"/> index, 0 to 6.</summary>
        public float this[int index]
        {
            get
            {
                switch (index)
                {
                    case 0: return Angry;
                    case 1: return Disgust;
                    case 2: return Fear;
                    case 3: return Happy;
                    case 4: return Sad;
                    case 5: return Surprise;
                    case 6: return Neutral;
                    default: throw new ArgumentOutOfRangeException("index", index, "an emotion index is 0 to 6");
                }
            }
        }

        /// <summary>Copies the seven scores into <paramref name="into"/> (length at least 7), in <see cref="EmotionKind"/> order.</summary>
        public void CopyTo(float[] into)
        {
            if (into == null) throw new ArgumentNullException("into");
            if (into.Length < Count) throw new ArgumentException("needs room for 7 scores", "into");
            for (int i = 0; i < Count; i++) into[i] = this[i];
        }
    }

    /// <summary>Mirrors <c>emotion_face</c>: one face of a frame.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EmotionFace
    {
        /// <summary>The face region, in pixels of the frame (the whole frame when no face was given or found).</summary>
        public EmotionRect FaceBounds;
        /// <summary>The dominant emotion (smoothed along its track, for <see cref="EmotionDetector.TryPoll"/>).</summary>
        public EmotionKind Emotion;
        /// <summary>Its score, in [0, 1].</summary>
        public float Confidence;
        /// <summary>All seven scores, summing to 1.</summary>
        public EmotionScores Scores;
        /// <summary>The face detector's confidence in (0, 1] for a face it found; 0 for a box the caller gave (or the whole frame).</summary>
        public float DetectionConfidence;
        /// <summary>TryPoll only: this face's smoothed emotion changed with this frame, from <see cref="PreviousEmotion"/>.</summary>
        [MarshalAs(UnmanagedType.U1)] public bool EmotionChanged;
        /// <summary>The emotion before the change; equal to <see cref="Emotion"/> when <see cref="EmotionChanged"/> is false.</summary>
        public EmotionKind PreviousEmotion;
        /// <summary>TryPoll only: the face's track, the same number while the face stays in view (from 1 up, never reused by a
        /// client); 0 for blocking calls.</summary>
        public ulong TrackId;

        public override string ToString()
        {
            return string.Format("track {0}: {1} {2:0.000} face {3}", TrackId, EmotionDetector.Label(Emotion), Confidence, FaceBounds);
        }
    }

    /// <summary>
    /// Mirrors <c>emotion_face faces[EMOTION_MAX_FACES]</c> as eight fields (C# has no fixed arrays of
    /// structs), so that <see cref="EmotionResult"/> stays free of managed arrays: read it with the indexer,
    /// <c>result.Faces[i]</c> for i below <see cref="EmotionResult.FaceCount"/>.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EmotionFaces
    {
        public EmotionFace Face0, Face1, Face2, Face3, Face4, Face5, Face6, Face7;

        /// <summary>The most faces one result holds (<c>EMOTION_MAX_FACES</c>).</summary>
        public const int Count = 8;

        /// <summary>The face at <paramref name="index"/>, 0 to 7, largest first; entries from <see cref="EmotionResult.FaceCount"/> on are zeroed.</summary>
        public EmotionFace this[int index]
        {
            get
            {
                switch (index)
                {
                    case 0: return Face0;
                    case 1: return Face1;
                    case 2: return Face2;
                    case 3: return Face3;
                    case 4: return Face4;
                    case 5: return Face5;
                    case 6: return Face6;
                    case 7: return Face7;
                    default: throw new ArgumentOutOfRangeException("index", index, "a face index is 0 to 7");
                }
            }
        }
    }

    /// <summary>Mirrors <c>uint64_t ended_tracks[EMOTION_MAX_FACES]</c> as eight fields; read it with the indexer.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EmotionTrackIds
    {
        public ulong Id0, Id1, Id2, Id3, Id4, Id5, Id6, Id7;

        /// <summary>The most ids listed (<c>EMOTION_MAX_FACES</c>).</summary>
        public const int Count = 8;

        /// <summary>The id at <paramref name="index"/>, 0 to 7.</summary>
        public ulong this[int index]
        {
            get
            {
                switch (index)
                {
                    case 0: return Id0;
                    case 1: return Id1;
                    case 2: return Id2;
                    case 3: return Id3;
                    case 4: return Id4;
                    case 5: return Id5;
                    case 6: return Id6;
                    case 7: return Id7;
                    default: throw new ArgumentOutOfRangeException("index", index, "an id index is 0 to 7");
                }
            }
        }
    }

    /// <summary>
    /// Mirrors <c>emotion_detection</c>: the answer for one frame. Every face is in <see cref="Faces"/>, largest
    /// first; the top-level fields repeat the largest face's, so that one-face callers need not look further.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EmotionResult
    {
        /// <summary>The largest face's dominant emotion (smoothed, for <see cref="EmotionDetector.TryPoll"/>).</summary>
        public EmotionKind Emotion;
        /// <summary>Its score, in [0, 1].</summary>
        public float Confidence;
        /// <summary>All seven scores, summing to 1.</summary>
        public EmotionScores Scores;
        /// <summary>The largest face's region, in pixels of the frame (the whole frame when no face was given or found).</summary>
        public EmotionRect FaceBounds;
        /// <summary>Whether the faces came from a face box (given or found) rather than the whole frame.</summary>
        [MarshalAs(UnmanagedType.U1)] public bool FaceDetected;
        /// <summary>TryPoll only: the largest face's smoothed emotion changed with this frame, from <see cref="PreviousEmotion"/>.</summary>
        [MarshalAs(UnmanagedType.U1)] public bool EmotionChanged;
        /// <summary>The emotion before the change; equal to <see cref="Emotion"/> when <see cref="EmotionChanged"/> is false.</summary>
        public EmotionKind PreviousEmotion;
        /// <summary>Faces in <see cref="Faces"/>.</summary>
        public uint FaceCount;
        /// <summary>Time the engine spent on the frame, in milliseconds.</summary>
        public float ProcessingMs;
        /// <summary>TryPoll only: the id <see cref="EmotionDetector.Submit(byte[], int, int, EmotionRect?, bool)"/> returned for this frame (0 otherwise).</summary>
        public ulong FrameId;
        /// <summary>TryPoll only: frames submitted since the previous result that a newer frame replaced (latest frame wins).</summary>
        public ulong DroppedFrames;
        /// <summary>Every face, largest first: <c>Faces[i]</c> for i below <see cref="FaceCount"/>.</summary>
        public EmotionFaces Faces;
        /// <summary>TryPoll only: tracks that ended since the previous result (their face was missing for
        /// <see cref="EmotionConfig.TrackTimeout"/> results); the first <see cref="EmotionTrackIds.Count"/> ids.</summary>
        public EmotionTrackIds EndedTracks;
        /// <summary>How many tracks ended: may exceed <see cref="EmotionTrackIds.Count"/>, whose ids were not all listed.</summary>
        public uint EndedTrackCount;

        public override string ToString()
        {
            return string.Format("{0} {1:0.000} face {2} of {3} ({4} ms)", EmotionDetector.Label(Emotion), Confidence, FaceBounds,
                FaceCount, ProcessingMs);
        }
    }

    /// <summary>A failed native call: its <see cref="Code"/> and the library's message.</summary>
    public class EmotionException : Exception
    {
        /// <summary>The <c>emotion_result</c> the call returned.</summary>
        public EmotionCode Code { get; private set; }

        public EmotionException(EmotionCode code, string message)
            : base(string.IsNullOrEmpty(message) ? code.ToString() : message)
        {
            Code = code;
        }
    }

    /// <summary>
    /// Owns an <c>emotion_client*</c>. As a SafeHandle it is reference-counted across P/Invoke calls:
    /// <c>emotion_client_free</c> (which must be the client's last call) runs only once no call on
    /// another thread is still using it, and at most once.
    /// </summary>
    public sealed class EmotionClientHandle : SafeHandle
    {
        // The marshaller creates the handle for `out EmotionClientHandle` parameters.
        public EmotionClientHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid
        {
            get { return handle == IntPtr.Zero; }
        }

        protected override bool ReleaseHandle()
        {
            NativeMethods.emotion_client_free(handle);
            return true;
        }
    }

    /// <summary>The raw declarations of emotion.h. Strings go in as NUL-terminated UTF-8 byte arrays
    /// (no reliance on UnmanagedType.LPUTF8Str, which older Unity runtimes lack); static strings come
    /// back as IntPtr so that the marshaller never tries to free them.</summary>
    internal static class NativeMethods
    {
#if (UNITY_IOS || UNITY_WEBGL) && !UNITY_EDITOR
        // Statically linked into the player (libemotion.a).
        const string Lib = "__Internal";
#else
        // libemotion.so / emotion.dll / libemotion.dylib.
        const string Lib = "emotion";
#endif
        const CallingConvention Cc = CallingConvention.Cdecl;

        [DllImport(Lib, CallingConvention = Cc)]
        internal static extern IntPtr emotion_version();

        [DllImport(Lib, CallingConvention = Cc)]
        internal static extern IntPtr emotion_label(uint emotion);

        [DllImport(Lib, CallingConvention = Cc)]
        internal static extern EmotionCode emotion_client_new_local(ref EmotionConfig config, out EmotionClientHandle client);

        [DllImport(Lib, CallingConvention = Cc)]
        internal static extern EmotionCode emotion_client_new_server(byte[] url, byte[] apiKey, ref EmotionConfig config, out EmotionClientHandle client);

        [DllImport(Lib, CallingConvention = Cc)]
        internal static extern EmotionCode emotion_client_new_huggingface(byte[] apiKey, byte[] models, byte[] baseUrl,
            [MarshalAs(UnmanagedType.U1)] bool fallbackLocal, ref EmotionConfig config, out EmotionClientHandle client);

        [DllImport(Lib, CallingConvention = Cc)]
        internal static extern void emotion_client_free(IntPtr client);

        // `bounds` may be NULL: each function taking it has two entry points, `ref EmotionRect`
        // and `IntPtr` (passed IntPtr.Zero), so that no call allocates.
        [DllImport(Lib, CallingConvention = Cc, EntryPoint = "emotion_detect")]
        internal static extern EmotionCode emotion_detect(EmotionClientHandle client, IntPtr pixels, uint width, uint height,
            UIntPtr stride, uint format, ref EmotionRect bounds, out EmotionResult result);

        [DllImport(Lib, CallingConvention = Cc, EntryPoint = "emotion_detect")]
        internal static extern EmotionCode emotion_detect(EmotionClientHandle client, IntPtr pixels, uint width, uint height,
            UIntPtr stride, uint format, IntPtr noBounds, out EmotionResult result);

        [DllImport(Lib, CallingConvention = Cc, EntryPoint = "emotion_detect_encoded")]
        internal static extern EmotionCode emotion_detect_encoded(EmotionClientHandle client, IntPtr data, UIntPtr len,
            ref EmotionRect bounds, out EmotionResult result);

        [DllImport(Lib, CallingConvention = Cc, EntryPoint = "emotion_detect_encoded")]
        internal static extern EmotionCode emotion_detect_encoded(EmotionClientHandle client, IntPtr data, UIntPtr len,
            IntPtr noBounds, out EmotionResult result);

        [DllImport(Lib, CallingConvention = Cc, EntryPoint = "emotion_submit")]
        internal static extern EmotionCode emotion_submit(EmotionClientHandle client, IntPtr pixels, uint width, uint height,
            UIntPtr stride, uint format, ref EmotionRect bounds, out ulong frameId);

        [DllImport(Lib, CallingConvention = Cc, EntryPoint = "emotion_submit")]
        internal static extern EmotionCode emotion_submit(EmotionClientHandle client, IntPtr pixels, uint width, uint height,
            UIntPtr stride, uint format, IntPtr noBounds, out ulong frameId);

        [DllImport(Lib, CallingConvention = Cc)]
        internal static extern EmotionCode emotion_poll(EmotionClientHandle client, out EmotionResult result);

        [DllImport(Lib, CallingConvention = Cc)]
        internal static extern EmotionCode emotion_set_smoothing(EmotionClientHandle client, float smoothing);

        [DllImport(Lib, CallingConvention = Cc)]
        internal static extern EmotionCode emotion_client_model(EmotionClientHandle client, byte[] buf, UIntPtr len, out UIntPtr written);

        [DllImport(Lib, CallingConvention = Cc)]
        internal static extern EmotionCode emotion_last_error(byte[] buf, UIntPtr len, out UIntPtr written);

        [DllImport(Lib, CallingConvention = Cc)]
        internal static extern UIntPtr emotion_last_error_length();

        [DllImport(Lib, CallingConvention = Cc)]
        internal static extern EmotionConfig emotion_config_default();

        // emotion_detect_rgba and emotion_submit_rgba are emotion_detect/emotion_submit with
        // EMOTION_PIXEL_FORMAT_RGBA; the wrapper passes the format itself instead.
    }

    /// <summary>
    /// A client of the emotion engine: the embedded model (<see cref="Local"/>), an emotion-server
    /// (<see cref="Server"/>) or Hugging Face (<see cref="HuggingFace"/>).
    ///
    /// Two ways to call: <c>Detect</c> blocks until the answer (milliseconds with the embedded
    /// model, a round trip with a remote one); <c>Submit</c> + <see cref="TryPoll"/> never block, for
    /// a game loop (a background worker, latest frame wins).
    ///
    /// Pixels are rows of 8-bit channels, top row first. Unity's <c>Texture2D.GetPixels32</c> and
    /// <c>WebCamTexture.GetPixels32</c> give the bottom row first: pass <c>flipVertically: true</c>
    /// and the rows are copied upside down into a buffer reused by the calling thread before the
    /// call (the C API takes an unsigned stride, so a "negative stride" view is not possible). Face
    /// boxes, given and returned, are always top-left-origin pixels of the upright image.
    ///
    /// Thread safety: every method may be called from any thread, concurrently; <see cref="TryPoll"/>
    /// is meant for one polling thread (each result is handed out once). <see cref="Dispose"/> waits
    /// for no call but frees the client only once the calls in flight have returned.
    /// </summary>
    public sealed class EmotionDetector : IDisposable
    {
        readonly EmotionClientHandle client;
        float smoothing;

        // Where flipVertically copies rows to, one per thread so that concurrent calls need no
        // lock; it grows to the largest frame seen and is then reused (no garbage per frame).
        [ThreadStatic] static byte[] flipBuffer;

        EmotionDetector(EmotionClientHandle client, float smoothing)
        {
            this.client = client;
            this.smoothing = smoothing;
        }

        /// <summary>A client running the embedded model in this process: offline, no key.</summary>
        public static EmotionDetector Local(EmotionConfig? config = null)
        {
            EmotionConfig c = config ?? EmotionConfig.Default;
            EmotionClientHandle handle;
            EmotionCode code = NativeMethods.emotion_client_new_local(ref c, out handle);
            return Created(code, handle, c);
        }

        /// <summary>A client of an emotion-server at <paramref name="url"/> (<c>http://host:port</c>);
        /// faces are cropped here and only the crop is sent. <paramref name="apiKey"/> may be null.</summary>
        public static EmotionDetector Server(string url, string apiKey = null, EmotionConfig? config = null)
        {
            if (url == null) throw new ArgumentNullException("url");
            EmotionConfig c = config ?? EmotionConfig.Default;
            EmotionClientHandle handle;
            EmotionCode code = NativeMethods.emotion_client_new_server(Utf8(url), Utf8(apiKey), ref c, out handle);
            return Created(code, handle, c);
        }

        /// <summary>A client of the Hugging Face Inference API. <paramref name="models"/> is null (the
        /// default model) or a comma-separated chain of model ids tried in order; <paramref name="baseUrl"/>
        /// is null (the public API) or another endpoint; with <paramref name="fallbackLocal"/> the
        /// embedded model answers when every remote model fails.</summary>
        public static EmotionDetector HuggingFace(string apiKey, string models = null, string baseUrl = null,
            bool fallbackLocal = false, EmotionConfig? config = null)
        {
            if (apiKey == null) throw new ArgumentNullException("apiKey");
            EmotionConfig c = config ?? EmotionConfig.Default;
            EmotionClientHandle handle;
            EmotionCode code = NativeMethods.emotion_client_new_huggingface(Utf8(apiKey), Utf8(models), Utf8(baseUrl),
                fallbackLocal, ref c, out handle);
            return Created(code, handle, c);
        }

        static EmotionDetector Created(EmotionCode code, EmotionClientHandle handle, EmotionConfig config)
        {
            if (code != EmotionCode.Ok)
            {
                EmotionException failure = Failure(code);
                if (handle != null) handle.Dispose();
                throw failure;
            }
            return new EmotionDetector(handle, config.Smoothing);
        }

        /// <summary>The library's version (<c>"0.1.0"</c>).</summary>
        public static string Version
        {
            get { return Marshal.PtrToStringAnsi(NativeMethods.emotion_version()); }
        }

        /// <summary>The lowercase name of an emotion (<c>"happy"</c>); null for a value that is no emotion.</summary>
        public static string Label(EmotionKind kind)
        {
            IntPtr text = NativeMethods.emotion_label((uint)kind);
            return text == IntPtr.Zero ? null : Marshal.PtrToStringAnsi(text);
        }

        /// <summary>The id of the client's first model (<c>local/mini-xception-fer2013</c>, a Hugging Face model id, <c>server:&lt;url&gt;</c>).</summary>
        public string Model
        {
            get
            {
                for (int size = 256; ; size *= 2)
                {
                    byte[] buf = new byte[size];
                    UIntPtr written;
                    EmotionCode code = NativeMethods.emotion_client_model(Client, buf, (UIntPtr)buf.Length, out written);
                    if (code == EmotionCode.Ok) return Encoding.UTF8.GetString(buf, 0, (int)written.ToUInt32());
                    if (code != EmotionCode.BufferTooSmall || size >= 1 << 20) throw Failure(code);
                }
            }
        }

        /// <summary>Smoothing of submitted frames' results in [0, 1], from the next frame on: 0 reports raw
        /// scores, values near 1 follow changes slowly. Starts at the config's (0.5 by default).</summary>
        public float Smoothing
        {
            get { return smoothing; }
            set
            {
                Check(NativeMethods.emotion_set_smoothing(Client, value));
                smoothing = value;
            }
        }

        /// <summary>Classifies an RGBA frame (e.g. <c>Texture2D.GetRawTextureData</c> of an RGBA32 texture)
        /// and waits for the answer. <paramref name="faceBounds"/> is null (the whole frame) or your face detector's box.</summary>
        public EmotionResult Detect(byte[] rgba, int width, int height, EmotionRect? faceBounds = null, bool flipVertically = false)
        {
            return Detect(rgba, width, height, EmotionPixelFormat.Rgba, faceBounds, flipVertically);
        }

        /// <summary>Classifies a frame of any blittable pixel array (<c>byte[]</c>, Unity's <c>Color32[]</c>, …)
        /// laid out as <paramref name="format"/>, and waits for the answer. <paramref name="stride"/> is the
        /// bytes from one row's start to the next; 0: rows are packed.</summary>
        public EmotionResult Detect<T>(T[] pixels, int width, int height, EmotionPixelFormat format,
            EmotionRect? faceBounds = null, bool flipVertically = false, int stride = 0) where T : struct
        {
            EmotionResult result;
            using (PinnedFrame frame = PinnedFrame.Pin(pixels, width, height, format, stride, flipVertically))
            {
                EmotionRect box = faceBounds.GetValueOrDefault();
                Check(faceBounds.HasValue
                    ? NativeMethods.emotion_detect(Client, frame.Pixels, (uint)width, (uint)height, frame.Stride, (uint)format, ref box, out result)
                    : NativeMethods.emotion_detect(Client, frame.Pixels, (uint)width, (uint)height, frame.Stride, (uint)format, IntPtr.Zero, out result));
            }
            return result;
        }

        /// <summary>Classifies an encoded JPEG, PNG or WebP image and waits for the answer.</summary>
        public EmotionResult DetectEncoded(byte[] data, EmotionRect? faceBounds = null)
        {
            if (data == null) throw new ArgumentNullException("data");
            EmotionResult result;
            GCHandle pin = GCHandle.Alloc(data, GCHandleType.Pinned);
            try
            {
                IntPtr ptr = pin.AddrOfPinnedObject();
                EmotionRect box = faceBounds.GetValueOrDefault();
                Check(faceBounds.HasValue
                    ? NativeMethods.emotion_detect_encoded(Client, ptr, (UIntPtr)data.Length, ref box, out result)
                    : NativeMethods.emotion_detect_encoded(Client, ptr, (UIntPtr)data.Length, IntPtr.Zero, out result));
            }
            finally
            {
                pin.Free();
            }
            return result;
        }

        /// <summary>Hands an RGBA frame to the background worker and returns at once (the pixels are
        /// copied: reuse the array straight away). Returns the frame's id, which its result carries.</summary>
        public ulong Submit(byte[] rgba, int width, int height, EmotionRect? faceBounds = null, bool flipVertically = false)
        {
            return Submit(rgba, width, height, EmotionPixelFormat.Rgba, faceBounds, flipVertically);
        }

        /// <summary><see cref="Submit(byte[], int, int, EmotionRect?, bool)"/> for any blittable pixel array
        /// (Unity's <c>Color32[]</c>: <see cref="EmotionPixelFormat.Rgba"/>) laid out as <paramref name="format"/>.</summary>
        public ulong Submit<T>(T[] pixels, int width, int height, EmotionPixelFormat format,
            EmotionRect? faceBounds = null, bool flipVertically = false, int stride = 0) where T : struct
        {
            ulong frameId;
            using (PinnedFrame frame = PinnedFrame.Pin(pixels, width, height, format, stride, flipVertically))
            {
                EmotionRect box = faceBounds.GetValueOrDefault();
                Check(faceBounds.HasValue
                    ? NativeMethods.emotion_submit(Client, frame.Pixels, (uint)width, (uint)height, frame.Stride, (uint)format, ref box, out frameId)
                    : NativeMethods.emotion_submit(Client, frame.Pixels, (uint)width, (uint)height, frame.Stride, (uint)format, IntPtr.Zero, out frameId));
            }
            return frameId;
        }

        /// <summary>Takes the newest result of submitted frames, never waiting: false when none arrived
        /// since the last poll. Throws <see cref="EmotionException"/> when the newest frame failed (a remote error).</summary>
        public bool TryPoll(out EmotionResult result)
        {
            EmotionCode code = NativeMethods.emotion_poll(Client, out result);
            if (code == EmotionCode.Ok) return true;
            result = default(EmotionResult);
            if (code == EmotionCode.NotReady) return false;
            throw Failure(code);
        }

        /// <summary>Frees the client (once the calls in flight on other threads have returned). Safe to call twice.</summary>
        public void Dispose()
        {
            client.Dispose();
        }

        EmotionClientHandle Client
        {
            get
            {
                if (client.IsClosed) throw new ObjectDisposedException("EmotionDetector");
                return client;
            }
        }

        // A frame's pixels pinned for one native call only (the library copies what it keeps),
        // checked first to hold the whole frame, which the library cannot know. A struct used with
        // `using`, so that a call makes no garbage.
        struct PinnedFrame : IDisposable
        {
            public IntPtr Pixels;
            public UIntPtr Stride;
            GCHandle pin;

            public static PinnedFrame Pin<T>(T[] pixels, int width, int height, EmotionPixelFormat format, int stride,
                bool flipVertically) where T : struct
            {
                if (pixels == null) throw new ArgumentNullException("pixels");
                if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException("width", "a frame has at least one pixel");
                if (stride < 0) throw new ArgumentOutOfRangeException("stride", "the stride is a byte count, 0 for packed rows");
                long row = (long)width * Channels(format);
                long rowStride = stride == 0 ? row : stride;
                long available = (long)pixels.Length * Marshal.SizeOf(typeof(T));
                // A stride shorter than a row is the library's to reject (EMOTION_INVALID_PIXELS, with
                // its message); checked here is only what would read past the array.
                long needed = rowStride * (height - 1) + Math.Min(row, rowStride);
                if (available < needed)
                    throw new EmotionException(EmotionCode.InvalidPixels, string.Format(
                        "the pixel array holds {0} bytes; a {1}x{2} {3} frame with stride {4} needs {5}",
                        available, width, height, format, rowStride, rowStride * (height - 1) + row));

                PinnedFrame frame = new PinnedFrame();
                GCHandle source = GCHandle.Alloc(pixels, GCHandleType.Pinned);
                if (!flipVertically || rowStride < row)
                {
                    frame.pin = source;
                    frame.Pixels = source.AddrOfPinnedObject();
                    frame.Stride = (UIntPtr)(ulong)rowStride;
                    return frame;
                }
                try
                {
                    // Bottom-up rows → a packed top-down copy in this thread's reused buffer.
                    long size = row * height;
                    if (flipBuffer == null || flipBuffer.Length < size) flipBuffer = new byte[size];
                    long start = source.AddrOfPinnedObject().ToInt64();
                    for (int y = 0; y < height; y++)
                        Marshal.Copy(new IntPtr(start + (height - 1 - y) * rowStride), flipBuffer, (int)(y * row), (int)row);
                }
                finally
                {
                    source.Free();
                }
                frame.pin = GCHandle.Alloc(flipBuffer, GCHandleType.Pinned);
                frame.Pixels = frame.pin.AddrOfPinnedObject();
                frame.Stride = (UIntPtr)(ulong)row;
                return frame;
            }

            public void Dispose()
            {
                if (pin.IsAllocated) pin.Free();
            }
        }

        // Bytes a pixel; an unknown format counts 4 and the library rejects it (EMOTION_INVALID_ARGUMENT).
        static int Channels(EmotionPixelFormat format)
        {
            switch (format)
            {
                case EmotionPixelFormat.Rgb:
                case EmotionPixelFormat.Bgr: return 3;
                case EmotionPixelFormat.Gray: return 1;
                default: return 4;
            }
        }

        static byte[] Utf8(string text)
        {
            if (text == null) return null;
            byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
            Encoding.UTF8.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }

        static void Check(EmotionCode code)
        {
            if (code != EmotionCode.Ok) throw Failure(code);
        }

        // Must run right after the failing call on the same thread: the message is per thread and
        // replaced by the next failure.
        static EmotionException Failure(EmotionCode code)
        {
            string message = "";
            UIntPtr need = NativeMethods.emotion_last_error_length();
            byte[] buf = new byte[Math.Max(1, (int)need.ToUInt32())];
            UIntPtr written;
            if (NativeMethods.emotion_last_error(buf, (UIntPtr)buf.Length, out written) == EmotionCode.Ok)
                message = Encoding.UTF8.GetString(buf, 0, (int)written.ToUInt32());
            return new EmotionException(code, message);
        }
    }
}
