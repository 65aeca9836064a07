// ConsoleTest.cs: drives examples/unity/EmotionDetector.cs against the real libemotion under Mono (run by bindings/c/tests/csharp.rs).
//
// Arguments, as key=value: layout (the output of tests/csharp/layout.c), jpeg (astronaut.jpg),
// rgba, width, height (its raw RGBA pixels, top row first), face (its face box x,y,w,h),
// version (the crate's), config (the Rust defaults: workers,cache_entries,cache_ttl_ms,
// smoothing,timeout_ms,crop_margin,face_detector,max_faces,min_face_size,track_timeout),
// group_jpeg, group_rgba, group_width, group_height (group_of_four.jpg and its raw RGBA pixels),
// group_faces (its known face boxes, x,y,w,h;x,y,w,h;...). Prints each check; exits 0 only if
// all passed.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Threading;
using FacialEmotion;

// Four bytes like Unity's Color32: proves the generic T[] overloads with a struct array.
[StructLayout(LayoutKind.Sequential)]
struct Color32Like
{
    public byte R, G, B, A;
}

static class ConsoleTest
{
    static int failures;
    static int passed;
    static Dictionary<string, string> args = new Dictionary<string, string>();

    static int Main(string[] argv)
    {
        foreach (string a in argv)
        {
            int eq = a.IndexOf('=');
            args[a.Substring(0, eq)] = a.Substring(eq + 1);
        }

        Section("layouts and constants against the C compiler", Layouts);
        Section("version, labels, default config", Statics);
        Section("blocking detection", Blocking);
        Section("several faces, blocking and tracked", SeveralFaces);
        Section("submit and poll at 60 Hz", SubmitPoll);
        Section("errors", Errors);
        Section("remote clients", Remote);

        Console.WriteLine("{0} checks passed, {1} failed", passed, failures);
        return failures == 0 ? 0 : 1;
    }

    // ---- checks ----

    static void Check(bool ok, string what, object detail = null)
    {
        if (ok) passed++; else failures++;
        Console.WriteLine("{0} {1}{2}", ok ? "ok  " : "FAIL", what, detail == null ? "" : ": " + detail);
    }

    static void Section(string name, Action body)
    {
        Console.WriteLine("== " + name);
        try
        {
            body();
        }
        catch (Exception e)
        {
            Check(false, name + " threw", e);
        }
    }

    // Runs `call` and checks it throws an EmotionException with `code` and a message.
    static void Throws(EmotionCode code, string what, Action call)
    {
        try
        {
            call();
            Check(false, what, "no exception");
        }
        catch (EmotionException e)
        {
            Check(e.Code == code && e.Message.Length > 0 && e.Message != code.ToString(), what,
                string.Format("{0}: \"{1}\"", e.Code, e.Message));
        }
    }

    // ---- (a) layouts ----

    static void Layouts()
    {
        var c = new Dictionary<string, long>();
        foreach (string line in File.ReadAllLines(args["layout"]))
        {
            string[] parts = line.Split(' ');
            c[parts[0]] = long.Parse(parts[1], CultureInfo.InvariantCulture);
        }

        CompareStruct(c, "emotion_config", typeof(EmotionConfig));
        CompareStruct(c, "emotion_rect", typeof(EmotionRect));
        CompareStruct(c, "emotion_face", typeof(EmotionFace));
        CompareStruct(c, "emotion_detection", typeof(EmotionResult));
        Check(c["emotion_face.scores.size"] == Marshal.SizeOf(typeof(EmotionScores)), "emotion_face.scores is an EmotionScores");

        // faces[EMOTION_MAX_FACES] and ended_tracks[EMOTION_MAX_FACES] as eight fields each, in order.
        FieldInfo[] faceFields = typeof(EmotionFaces).GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
        Check(c["EMOTION_MAX_FACES"] == EmotionFaces.Count && EmotionFaces.Count == EmotionTrackIds.Count
            && faceFields.Length == c["EMOTION_MAX_FACES"]
            && c["emotion_detection.faces.size"] == c["EMOTION_MAX_FACES"] * c["emotion_face"]
            && c["emotion_detection.faces.size"] == Marshal.SizeOf(typeof(EmotionFaces)),
            "EmotionFaces holds EMOTION_MAX_FACES emotion_face", c["emotion_detection.faces.size"] + " bytes");
        for (int i = 0; i < EmotionFaces.Count; i++)
        {
            long offset = Marshal.OffsetOf(typeof(EmotionFaces), "Face" + i).ToInt64();
            if (offset != c["emotion_face"] * i || faceFields[i].FieldType != typeof(EmotionFace))
                Check(false, "EmotionFaces.Face" + i + " is faces[" + i + "]", offset);
        }
        FieldInfo[] idFields = typeof(EmotionTrackIds).GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
        Check(idFields.Length == c["EMOTION_MAX_FACES"]
            && c["emotion_detection.ended_tracks.size"] == c["EMOTION_MAX_FACES"] * sizeof(ulong)
            && c["emotion_detection.ended_tracks.size"] == Marshal.SizeOf(typeof(EmotionTrackIds)),
            "EmotionTrackIds holds EMOTION_MAX_FACES uint64_t", c["emotion_detection.ended_tracks.size"] + " bytes");
        for (int i = 0; i < EmotionTrackIds.Count; i++)
        {
            long offset = Marshal.OffsetOf(typeof(EmotionTrackIds), "Id" + i).ToInt64();
            if (offset != sizeof(ulong) * i || idFields[i].FieldType != typeof(ulong))
                Check(false, "EmotionTrackIds.Id" + i + " is ended_tracks[" + i + "]", offset);
        }
        Check(c["emotion_detection.scores.size"] == Marshal.SizeOf(typeof(EmotionScores))
            && typeof(EmotionScores).GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Length == c["EMOTION_COUNT"]
            && EmotionScores.Count == c["EMOTION_COUNT"], "EmotionScores holds EMOTION_COUNT floats");
        for (int i = 0; i < EmotionScores.Count; i++)
        {
            string field = ((EmotionKind)i).ToString();
            long offset = Marshal.OffsetOf(typeof(EmotionScores), field).ToInt64();
            if (offset != 4 * i) Check(false, "EmotionScores." + field + " is scores[" + i + "]", offset);
        }

        // The scalar types the declarations assume: uint for the enums, 1-byte bool, UIntPtr for size_t.
        Check(c["emotion_result"] == sizeof(uint) && Enum.GetUnderlyingType(typeof(EmotionCode)) == typeof(uint), "emotion_result is a uint");
        Check(c["emotion_kind"] == sizeof(uint) && Enum.GetUnderlyingType(typeof(EmotionKind)) == typeof(uint), "emotion_kind is a uint");
        Check(c["emotion_pixel_format"] == sizeof(uint) && Enum.GetUnderlyingType(typeof(EmotionPixelFormat)) == typeof(uint),
            "emotion_pixel_format is a uint");
        Check(c["emotion_face_detector"] == sizeof(uint) && Enum.GetUnderlyingType(typeof(EmotionFaceDetector)) == typeof(uint)
            && c["emotion_config.face_detector.size"] == sizeof(uint), "emotion_face_detector (and emotion_config.face_detector) is a uint");
        Check(c["bool"] == 1, "bool is 1 byte (marshalled as U1)");
        Check(c["size_t"] == UIntPtr.Size && c["pointer"] == IntPtr.Size, "size_t and pointers are UIntPtr/IntPtr sized");

        CompareEnum(c, typeof(EmotionCode), "emotion_result", "EMOTION_");
        CompareEnum(c, typeof(EmotionKind), "emotion_kind", "EMOTION_");
        CompareEnum(c, typeof(EmotionPixelFormat), "emotion_pixel_format", "EMOTION_PIXEL_FORMAT_");
        CompareEnum(c, typeof(EmotionFaceDetector), "emotion_face_detector", "EMOTION_FACE_DETECTOR_");
    }

    // Every C field has a C# field (snake_case → PascalCase) at the same offset with the same
    // marshalled size, in the same number, and the structs have the same size.
    static void CompareStruct(Dictionary<string, long> c, string cName, Type type)
    {
        Check(c[cName] == Marshal.SizeOf(type), string.Format("sizeof({0}) == Marshal.SizeOf({1})", cName, type.Name),
            string.Format("{0} vs {1}", c[cName], Marshal.SizeOf(type)));
        int cFields = 0;
        foreach (var entry in c)
        {
            if (!entry.Key.StartsWith(cName + ".") || entry.Key.EndsWith(".size")) continue;
            cFields++;
            string cField = entry.Key.Substring(cName.Length + 1);
            string field = Pascal(cField);
            FieldInfo info = type.GetField(field);
            if (info == null)
            {
                Check(false, string.Format("{0}.{1} has no field {2}", type.Name, cField, field));
                continue;
            }
            long offset = Marshal.OffsetOf(type, field).ToInt64();
            long size = MarshalledSize(info);
            long cSize = c[entry.Key + ".size"];
            Check(offset == entry.Value && size == cSize,
                string.Format("{0}.{1} at {2}, {3} bytes", type.Name, field, entry.Value, cSize),
                string.Format("C# {0}, {1} bytes", offset, size));
        }
        Check(cFields == type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Length,
            string.Format("{0} has the {1} fields of {2}", type.Name, cFields, cName));
    }

    static long MarshalledSize(FieldInfo info)
    {
        if (info.FieldType == typeof(bool))
        {
            // bool's marshalled size comes from its MarshalAs (the default is a 4-byte Win32 BOOL).
            foreach (object a in info.GetCustomAttributes(typeof(MarshalAsAttribute), false))
                if (((MarshalAsAttribute)a).Value == UnmanagedType.U1 || ((MarshalAsAttribute)a).Value == UnmanagedType.I1) return 1;
            return 4;
        }
        Type t = info.FieldType.IsEnum ? Enum.GetUnderlyingType(info.FieldType) : info.FieldType;
        return Marshal.SizeOf(t);
    }

    // Every member of a C# enum is the C enum's member of that name (layout.c's `enum:MEMBER value`
    // lines) with the same value, and the C enum has no member the C# enum lacks.
    static void CompareEnum(Dictionary<string, long> c, Type type, string cEnum, string prefix)
    {
        int matched = 0;
        foreach (string name in Enum.GetNames(type))
        {
            string cName = cEnum + ":" + prefix + Screaming(name);
            long value = Convert.ToInt64(Enum.Parse(type, name));
            long cValue;
            bool ok = c.TryGetValue(cName, out cValue) && cValue == value;
            if (ok) matched++; else Check(false, string.Format("{0}.{1} == {2}", type.Name, name, cName), value);
        }
        int cCount = 0;
        foreach (string key in c.Keys)
            if (key.StartsWith(cEnum + ":")) cCount++;
        Check(matched == Enum.GetNames(type).Length && matched == cCount,
            string.Format("{0}: {1} members equal to {2}'s", type.Name, matched, cEnum), "header has " + cCount);
    }

    static string Pascal(string snake)
    {
        var s = new System.Text.StringBuilder();
        foreach (string part in snake.Split('_'))
            s.Append(char.ToUpperInvariant(part[0])).Append(part.Substring(1));
        return s.ToString();
    }

    static string Screaming(string pascal)
    {
        var s = new System.Text.StringBuilder();
        for (int i = 0; i < pascal.Length; i++)
        {
            if (i > 0 && char.IsUpper(pascal[i])) s.Append('_');
            s.Append(char.ToUpperInvariant(pascal[i]));
        }
        return s.ToString();
    }

    // ---- (b) real calls ----

    static void Statics()
    {
        Check(EmotionDetector.Version == args["version"], "Version", EmotionDetector.Version);
        string[] labels = { "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral" };
        bool labelsOk = true;
        for (int i = 0; i < labels.Length; i++) labelsOk &= EmotionDetector.Label((EmotionKind)i) == labels[i];
        Check(labelsOk, "Label of the seven kinds", string.Join(",", labels));
        Check(EmotionDetector.Label((EmotionKind)7) == null, "Label of a value that is no emotion is null");

        EmotionConfig d = EmotionConfig.Default;
        string got = string.Format(CultureInfo.InvariantCulture, "{0},{1},{2},{3},{4},{5},{6},{7},{8},{9}",
            d.Workers, d.CacheEntries, d.CacheTtlMs, d.Smoothing, d.TimeoutMs, d.CropMargin,
            (uint)d.FaceDetector, d.MaxFaces, d.MinFaceSize, d.TrackTimeout);
        Check(got == args["config"], "EmotionConfig.Default equals the Rust defaults", got);
        Check(d.Workers == 1 && d.Smoothing == 0.5f, "defaults: 1 worker, smoothing 0.5 (as the header says)");
        Check(d.FaceDetector == EmotionFaceDetector.Short && d.MaxFaces == 5 && d.MinFaceSize == 0 && d.TrackTimeout == 15,
            "defaults: short-range detector, 5 faces, no minimum size, tracks end after 15 results (as the header says)");
    }

    static EmotionRect FaceBox()
    {
        string[] v = args["face"].Split(',');
        return new EmotionRect(float.Parse(v[0]), float.Parse(v[1]), float.Parse(v[2]), float.Parse(v[3]));
    }

    static byte[] Rgba()
    {
        return File.ReadAllBytes(args["rgba"]);
    }

    static int W { get { return int.Parse(args["width"]); } }
    static int H { get { return int.Parse(args["height"]); } }

    static bool SameBox(EmotionRect a, EmotionRect b)
    {
        return a.X == b.X && a.Y == b.Y && a.Width == b.Width && a.Height == b.Height;
    }

    static float Iou(EmotionRect a, EmotionRect b)
    {
        float x0 = Math.Max(a.X, b.X), y0 = Math.Max(a.Y, b.Y);
        float x1 = Math.Min(a.X + a.Width, b.X + b.Width), y1 = Math.Min(a.Y + a.Height, b.Y + b.Height);
        float inter = x1 > x0 && y1 > y0 ? (x1 - x0) * (y1 - y0) : 0;
        float union = a.Width * a.Height + b.Width * b.Height - inter;
        return union > 0 ? inter / union : 0;
    }

    // The top-level fields are the largest face's.
    static bool TopIsFirstFace(EmotionResult r)
    {
        EmotionFace f = r.Faces[0];
        for (int i = 0; i < EmotionScores.Count; i++)
            if (r.Scores[i] != f.Scores[i]) return false;
        return r.FaceCount >= 1 && r.Emotion == f.Emotion && r.Confidence == f.Confidence && SameBox(r.FaceBounds, f.FaceBounds)
            && r.EmotionChanged == f.EmotionChanged && r.PreviousEmotion == f.PreviousEmotion;
    }

    static bool IsZero(EmotionFace f)
    {
        for (int i = 0; i < EmotionScores.Count; i++)
            if (f.Scores[i] != 0) return false;
        return SameBox(f.FaceBounds, new EmotionRect(0, 0, 0, 0)) && f.Emotion == 0 && f.Confidence == 0 && f.DetectionConfidence == 0
            && !f.EmotionChanged && f.PreviousEmotion == 0 && f.TrackId == 0;
    }

    static bool SameScores(EmotionResult a, EmotionResult b)
    {
        for (int i = 0; i < EmotionScores.Count; i++)
            if (Math.Abs(a.Scores[i] - b.Scores[i]) > 1e-6f) return false;
        return a.Emotion == b.Emotion;
    }

    // A happy detection of the astronaut's face box.
    static void CheckHappy(EmotionResult r, string what)
    {
        float sum = 0;
        for (int i = 0; i < EmotionScores.Count; i++) sum += r.Scores[i];
        Check(r.Emotion == EmotionKind.Happy && r.Confidence > 0.9f && r.Confidence == r.Scores[EmotionKind.Happy]
            && Math.Abs(sum - 1) < 1e-3f, what + ": happy > 0.9, scores sum to 1", r);
        Check(r.FaceDetected && r.FaceCount == 1 && SameBox(r.FaceBounds, FaceBox()) && !r.EmotionChanged
            && r.PreviousEmotion == r.Emotion && r.FrameId == 0 && r.DroppedFrames == 0,
            what + ": face_bounds is the box, face_detected, no frame id", r.FaceBounds);
        EmotionFace f = r.Faces[0];
        Check(TopIsFirstFace(r) && f.DetectionConfidence == 0 && f.TrackId == 0 && IsZero(r.Faces[1]) && r.EndedTrackCount == 0,
            what + ": Faces[0] is the box given (no detection confidence, track 0), the rest zeroed", f);
    }

    static void Blocking()
    {
        using (EmotionDetector detector = EmotionDetector.Local())
        {
            Check(detector.Model == "local/mini-xception-fer2013", "Model", detector.Model);
            EmotionRect face = FaceBox();

            CheckHappy(detector.DetectEncoded(File.ReadAllBytes(args["jpeg"]), face), "DetectEncoded(astronaut.jpg, box)");
            // Without a box the default (short-range) detector finds the face.
            EmotionResult found = detector.DetectEncoded(File.ReadAllBytes(args["jpeg"]));
            Check(found.FaceDetected && found.FaceCount == 1 && Iou(found.FaceBounds, face) >= 0.5f && found.Emotion == EmotionKind.Happy
                && found.Faces[0].DetectionConfidence > 0.5f && found.Faces[0].TrackId == 0 && TopIsFirstFace(found),
                "DetectEncoded without a box: the detector finds the face (IoU >= 0.5 with the known box)",
                found + ", IoU " + Iou(found.FaceBounds, face) + ", detection " + found.Faces[0].DetectionConfidence);
            EmotionConfig off = EmotionConfig.Default;
            off.FaceDetector = EmotionFaceDetector.Off;
            using (EmotionDetector wholeFrame = EmotionDetector.Local(off))
            {
                EmotionResult whole = wholeFrame.DetectEncoded(File.ReadAllBytes(args["jpeg"]));
                Check(!whole.FaceDetected && SameBox(whole.FaceBounds, new EmotionRect(0, 0, W, H)),
                    "DetectEncoded without a box uses the whole frame (face detector off)", whole);
            }

            byte[] rgba = Rgba();
            EmotionResult topDown = detector.Detect(rgba, W, H, face);
            CheckHappy(topDown, "Detect(RGBA top-down, box)");

            // Unity's GetPixels32 order: bottom row first.
            byte[] bottomUp = FlipRows(rgba, W * 4, H);
            EmotionResult flipped = detector.Detect(bottomUp, W, H, face, flipVertically: true);
            CheckHappy(flipped, "Detect(RGBA bottom-up, box, flipVertically)");
            Check(SameScores(topDown, flipped), "flipVertically gives the top-down scores exactly");
            Check(!SameScores(topDown, detector.Detect(bottomUp, W, H, face)),
                "without flipVertically a bottom-up frame scores differently (the flip is real)");

            // A Color32-like struct array through the generic overload, and BGRA with padded rows.
            var colors = new Color32Like[W * H];
            for (int i = 0; i < colors.Length; i++)
                colors[i] = new Color32Like { R = rgba[4 * i], G = rgba[4 * i + 1], B = rgba[4 * i + 2], A = rgba[4 * i + 3] };
            Check(SameScores(topDown, detector.Detect(colors, W, H, EmotionPixelFormat.Rgba, face)), "Detect<Color32Like>(RGBA) == byte[] RGBA");
            int stride = W * 4 + 12;
            byte[] bgra = new byte[stride * H];
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                {
                    int s = (y * W + x) * 4, t = y * stride + x * 4;
                    bgra[t] = rgba[s + 2]; bgra[t + 1] = rgba[s + 1]; bgra[t + 2] = rgba[s]; bgra[t + 3] = rgba[s + 3];
                }
            Check(SameScores(topDown, detector.Detect(bgra, W, H, EmotionPixelFormat.Bgra, face, stride: stride)),
                "Detect(BGRA, stride W*4+12) == RGBA");
            Check(SameScores(topDown, detector.Detect(FlipRows(bgra, stride, H), W, H, EmotionPixelFormat.Bgra, face, true, stride)),
                "Detect(BGRA bottom-up, stride, flipVertically) == RGBA");
        }
    }

    static EmotionRect[] GroupFaces()
    {
        var boxes = new List<EmotionRect>();
        foreach (string b in args["group_faces"].Split(';'))
        {
            string[] v = b.Split(',');
            boxes.Add(new EmotionRect(float.Parse(v[0]), float.Parse(v[1]), float.Parse(v[2]), float.Parse(v[3])));
        }
        return boxes.ToArray();
    }

    // A result for the group photo: each known face found once, largest first, the rest zeroed.
    static void CheckGroup(EmotionResult r, string what, bool tracked)
    {
        EmotionRect[] known = GroupFaces();
        var matched = new bool[known.Length];
        bool found = r.FaceDetected && r.FaceCount == known.Length, sorted = true, confident = true, ids = true;
        var seen = new HashSet<ulong>();
        for (int i = 0; i < r.FaceCount && i < EmotionFaces.Count; i++)
        {
            EmotionFace f = r.Faces[i];
            int best = -1;
            float bestIou = 0;
            for (int k = 0; k < known.Length; k++)
                if (Iou(f.FaceBounds, known[k]) > bestIou) { bestIou = Iou(f.FaceBounds, known[k]); best = k; }
            if (best < 0 || bestIou < 0.5f || matched[best]) found = false; else matched[best] = true;
            confident &= f.DetectionConfidence > 0.5f && f.DetectionConfidence <= 1;
            ids &= tracked ? f.TrackId != 0 && seen.Add(f.TrackId) : f.TrackId == 0;
            if (i > 0)
                sorted &= r.Faces[i - 1].FaceBounds.Width * r.Faces[i - 1].FaceBounds.Height >= f.FaceBounds.Width * f.FaceBounds.Height;
        }
        Check(found, what + ": " + known.Length + " faces, each over its own known box (IoU >= 0.5)", r);
        Check(confident && sorted, what + ": detection confidence > 0.5 each, largest first");
        Check(ids, what + (tracked ? ": each face has its own track id" : ": track ids are 0 (a blocking call)"));
        bool rest = true;
        for (int i = (int)r.FaceCount; i < EmotionFaces.Count; i++) rest &= IsZero(r.Faces[i]);
        Check(TopIsFirstFace(r) && rest, what + ": the top-level fields are Faces[0]'s, the entries past FaceCount zeroed");
    }

    static void SeveralFaces()
    {
        EmotionConfig config = EmotionConfig.Default;
        config.FaceDetector = EmotionFaceDetector.Full;
        config.CacheEntries = 0;
        config.Smoothing = 0;
        config.TrackTimeout = 2;
        int gw = int.Parse(args["group_width"]), gh = int.Parse(args["group_height"]);
        byte[] group = File.ReadAllBytes(args["group_rgba"]);
        using (EmotionDetector detector = EmotionDetector.Local(config))
        {
            CheckGroup(detector.DetectEncoded(File.ReadAllBytes(args["group_jpeg"])), "DetectEncoded(group_of_four.jpg)", false);
            CheckGroup(detector.Detect(group, gw, gh), "Detect(group RGBA)", false);

            // Through the worker: each face keeps its track from frame to frame; on a frame with
            // no face every track misses, and after TrackTimeout such results all have ended.
            var ids = new List<ulong>();
            bool same = true;
            for (int frame = 0; frame < 2; frame++)
            {
                EmotionResult r = SubmitAndWait(detector, group, gw, gh);
                CheckGroup(r, "TryPoll(group RGBA) frame " + frame, true);
                for (int i = 0; i < r.FaceCount; i++)
                    if (frame == 0) ids.Add(r.Faces[i].TrackId); else same &= ids.Contains(r.Faces[i].TrackId);
                same &= r.EndedTrackCount == 0 && r.DroppedFrames == 0;
            }
            Check(same && ids.Count == 4, "the four faces keep their track ids over two frames", string.Join(",", ids));
            byte[] grey = new byte[gw * gh * 4];
            for (int i = 0; i < grey.Length; i++) grey[i] = 128;
            EmotionResult first = SubmitAndWait(detector, grey, gw, gh);
            Check(!first.FaceDetected && first.EndedTrackCount == 0, "an empty frame: no face, no track ended yet", first);
            EmotionResult second = SubmitAndWait(detector, grey, gw, gh);
            var ended = new List<ulong>();
            for (int i = 0; i < Math.Min((int)second.EndedTrackCount, EmotionTrackIds.Count); i++) ended.Add(second.EndedTracks[i]);
            bool all = second.EndedTrackCount == 4;
            foreach (ulong id in ids) all &= ended.Contains(id);
            for (int i = ended.Count; i < EmotionTrackIds.Count; i++) all &= second.EndedTracks[i] == 0;
            Check(all, "the second empty frame (TrackTimeout 2) ends the four tracks: EndedTracks lists their ids",
                second.EndedTrackCount + ": " + string.Join(",", ended));
        }
    }

    // Submits a frame and polls until its own result comes (at most 30 s).
    static EmotionResult SubmitAndWait(EmotionDetector detector, byte[] rgba, int width, int height)
    {
        ulong id = detector.Submit(rgba, width, height);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        EmotionResult r;
        while (clock.Elapsed.TotalSeconds < 30)
        {
            if (detector.TryPoll(out r))
            {
                if (r.FrameId != id) Check(false, "TryPoll gives the frame just submitted", r.FrameId + " for " + id);
                return r;
            }
            Thread.Sleep(2);
        }
        Check(false, "a result within 30 s", "frame " + id);
        return default(EmotionResult);
    }

    static byte[] FlipRows(byte[] pixels, int stride, int height)
    {
        byte[] flipped = new byte[pixels.Length];
        for (int y = 0; y < height; y++)
            Buffer.BlockCopy(pixels, y * stride, flipped, (height - 1 - y) * stride, stride);
        return flipped;
    }

    static void SubmitPoll()
    {
        using (EmotionDetector detector = EmotionDetector.Local())
        {
            EmotionResult r;
            Check(!detector.TryPoll(out r), "TryPoll before any Submit is false");
            detector.Smoothing = 0.25f;
            Check(detector.Smoothing == 0.25f, "Smoothing set to 0.25");

            byte[] bottomUp = FlipRows(Rgba(), W * 4, H);
            EmotionRect face = FaceBox();
            var results = new List<EmotionResult>();
            ulong lastId = 0;
            bool idsIncrease = true;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            double firstResultS = -1;
            // A game loop: one frame every 16 ms, polled each frame, for a second after the first
            // result (at most 10 s in all).
            while (clock.Elapsed.TotalSeconds < 10 && (firstResultS < 0 || clock.Elapsed.TotalSeconds < firstResultS + 1))
            {
                ulong id = detector.Submit(bottomUp, W, H, face, flipVertically: true);
                idsIncrease &= id == lastId + 1;
                lastId = id;
                if (detector.TryPoll(out r))
                {
                    results.Add(r);
                    if (firstResultS < 0) firstResultS = clock.Elapsed.TotalSeconds;
                }
                Thread.Sleep(16);
            }
            Check(idsIncrease && lastId > 1, "Submit returns frame ids 1, 2, 3, …", lastId + " frames");
            Check(firstResultS >= 0 && firstResultS < 5, "a result arrives within 5 s",
                string.Format(CultureInfo.InvariantCulture, "{0:0.000} s, {1} results", firstResultS, results.Count));
            if (results.Count == 0) return;

            bool ordered = true, happy = true;
            ulong previous = 0, accounted = 0;
            foreach (EmotionResult x in results)
            {
                ordered &= x.FrameId > previous && x.FrameId <= lastId;
                happy &= x.Emotion == EmotionKind.Happy && x.FaceDetected && SameBox(x.FaceBounds, face);
                accounted += 1 + x.DroppedFrames;
                previous = x.FrameId;
            }
            Check(ordered, "result frame ids increase and were submitted");
            Check(happy, "every polled result is happy on the face box", results[0]);
            Check(accounted <= lastId, "results + dropped frames <= frames submitted", accounted + " <= " + lastId);

            // Stop submitting, let the worker finish its frame, take it: then nothing is new.
            Thread.Sleep(2000);
            detector.TryPoll(out r);
            Check(!detector.TryPoll(out r) && !detector.TryPoll(out r), "TryPoll is false when nothing is new");

            detector.Dispose();
            detector.Dispose();
            Check(true, "Dispose twice is safe");
            try
            {
                detector.TryPoll(out r);
                Check(false, "a call after Dispose throws ObjectDisposedException");
            }
            catch (ObjectDisposedException)
            {
                Check(true, "a call after Dispose throws ObjectDisposedException");
            }
        }
    }

    static void Errors()
    {
        using (EmotionDetector detector = EmotionDetector.Local())
        {
            byte[] rgba = Rgba();
            Throws(EmotionCode.InvalidPixels, "a stride shorter than a row → InvalidPixels",
                () => detector.Detect(rgba, W, H, EmotionPixelFormat.Rgba, stride: W * 4 - 1));
            Throws(EmotionCode.InvalidPixels, "a pixel array shorter than the frame → InvalidPixels (checked before the call)",
                () => detector.Submit(new byte[16], W, H));
            Throws(EmotionCode.InvalidArgument, "an unknown pixel format → InvalidArgument",
                () => detector.Detect(rgba, W, H, (EmotionPixelFormat)99));
            Throws(EmotionCode.InvalidImage, "garbage bytes → InvalidImage",
                () => detector.DetectEncoded(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }));
            Throws(EmotionCode.InvalidFaceBounds, "a box outside the image → InvalidFaceBounds",
                () => detector.Detect(rgba, W, H, new EmotionRect(W + 10, H + 10, 50, 50)));
            // Submit checks the arguments; the box is the engine's to check, so it fails at TryPoll.
            detector.Submit(rgba, W, H, new EmotionRect(W + 10, H + 10, 50, 50));
            Throws(EmotionCode.InvalidFaceBounds, "a box outside the image on Submit → InvalidFaceBounds from TryPoll", () =>
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                EmotionResult r;
                while (!detector.TryPoll(out r) && clock.Elapsed.TotalSeconds < 5) Thread.Sleep(16);
            });
            Throws(EmotionCode.InvalidArgument, "Smoothing = 2 → InvalidArgument", () => detector.Smoothing = 2);
            Check(detector.Smoothing == 0.5f, "a refused Smoothing keeps the old value", detector.Smoothing);
            Throws(EmotionCode.InvalidArgument, "a server URL without http:// → InvalidArgument",
                () => EmotionDetector.Server("localhost:8000").Dispose());
        }

        // The message is read on the failing thread right after the call: two threads failing
        // differently at once each get their own.
        bool ownMessages = true;
        ThreadStart fail = () =>
        {
            using (EmotionDetector d = EmotionDetector.Local())
                for (int i = 0; i < 200; i++)
                {
                    try { d.DetectEncoded(new byte[] { 1, 2, 3 }); ownMessages = false; }
                    catch (EmotionException e) { if (e.Code != EmotionCode.InvalidImage || !e.Message.Contains("decoded")) ownMessages = false; }
                }
        };
        ThreadStart failOther = () =>
        {
            for (int i = 0; i < 200; i++)
            {
                try { EmotionDetector.Server("nonsense").Dispose(); ownMessages = false; }
                catch (EmotionException e) { if (e.Code != EmotionCode.InvalidArgument || !e.Message.Contains("URL")) ownMessages = false; }
            }
        };
        var one = new Thread(fail);
        var two = new Thread(failOther);
        one.Start();
        two.Start();
        one.Join();
        two.Join();
        Check(ownMessages, "concurrent failures on two threads each read their own message");
    }

    static void Remote()
    {
        // A port nobody listens on: clients are made without contacting it, calls fail.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        string url = "http://127.0.0.1:" + port;
        EmotionConfig config = EmotionConfig.Default;
        config.TimeoutMs = 2000;

        using (EmotionDetector server = EmotionDetector.Server(url, "key", config))
        {
            Check(server.Model.StartsWith("server:"), "Server(...).Model", server.Model);
            try
            {
                server.Detect(Rgba(), W, H, FaceBox());
                Check(false, "Detect against a closed port fails");
            }
            catch (EmotionException e)
            {
                Check(e.Code == EmotionCode.BackendError || e.Code == EmotionCode.Unavailable,
                    "Detect against a closed port → BackendError/Unavailable", e.Code + ": " + e.Message);
            }
            // The same failure through the worker comes out of TryPoll.
            server.Submit(Rgba(), W, H, FaceBox());
            EmotionResult r;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            EmotionException polled = null;
            while (polled == null && clock.Elapsed.TotalSeconds < 5)
            {
                try { if (server.TryPoll(out r)) break; } catch (EmotionException e) { polled = e; }
                Thread.Sleep(16);
            }
            Check(polled != null && polled.Message.Length > 0, "a failed submitted frame throws from TryPoll",
                polled == null ? "none" : polled.Code + ": " + polled.Message);
        }

        using (EmotionDetector hf = EmotionDetector.HuggingFace("hf_test", "org/model-a,org/model-b", url, fallbackLocal: true, config: config))
        {
            Check(hf.Model == "org/model-a", "HuggingFace(models chain).Model is the first", hf.Model);
            EmotionResult r = hf.Detect(Rgba(), W, H, FaceBox());
            Check(r.Emotion == EmotionKind.Happy, "HuggingFace with fallbackLocal answers from the embedded model when the remote fails", r);
        }
        Throws(EmotionCode.InvalidArgument, "HuggingFace with an empty model id → InvalidArgument",
            () => EmotionDetector.HuggingFace("hf_test", "org/model-a,,").Dispose());
    }
}
