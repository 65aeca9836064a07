// EmotionDetectorComponent.cpp: UEmotionDetectorComponent over libemotion's C API (emotion_submit + emotion_poll each tick).

#include "EmotionDetectorComponent.h"

#include "Engine/TextureRenderTarget2D.h"
#include "TextureResource.h"

#include "emotion.h"

DEFINE_LOG_CATEGORY(LogEmotion);

namespace
{
	// The message of the calling thread's last failed call: read it right after that call.
	FString LastEmotionError()
	{
		TArray<ANSICHAR> Buffer;
		Buffer.SetNumZeroed(static_cast<int32>(emotion_last_error_length()) + 1);
		size_t Written = 0;
		if (emotion_last_error(Buffer.GetData(), Buffer.Num(), &Written) != EMOTION_OK)
		{
			return TEXT("(no message)");
		}
		return FString(UTF8_TO_TCHAR(Buffer.GetData()));
	}

	EEmotionKind ToKind(emotion_kind Kind)
	{
		// emotion_kind values are 0-6 in EEmotionKind's order.
		return Kind <= EMOTION_NEUTRAL ? static_cast<EEmotionKind>(Kind) : EEmotionKind::Neutral;
	}

	FBox2D ToBox(const emotion_rect& Rect)
	{
		return FBox2D(FVector2D(Rect.x, Rect.y), FVector2D(Rect.x + Rect.width, Rect.y + Rect.height));
	}

	FEmotionFace ToFace(const emotion_face& F)
	{
		FEmotionFace Face;
		Face.TrackId = static_cast<int64>(F.track_id);
		Face.Emotion = ToKind(F.emotion);
		Face.PreviousEmotion = ToKind(F.previous_emotion);
		Face.Confidence = F.confidence;
		Face.Scores.Append(F.scores, EMOTION_COUNT);
		Face.FaceBounds = ToBox(F.face_bounds);
		Face.DetectionConfidence = F.detection_confidence;
		return Face;
	}

	FEmotionReading ToReading(const emotion_detection& D)
	{
		FEmotionReading R;
		R.Emotion = ToKind(D.emotion);
		R.PreviousEmotion = ToKind(D.previous_emotion);
		R.Confidence = D.confidence;
		R.Scores.Append(D.scores, EMOTION_COUNT);
		R.FaceBounds = ToBox(D.face_bounds);
		R.FrameId = static_cast<int64>(D.frame_id);
		// A frame where the detector found no face carries the whole frame's answer, track 0.
		for (uint32_t I = 0; I < D.face_count && I < EMOTION_MAX_FACES; ++I)
		{
			R.Faces.Add(ToFace(D.faces[I]));
		}
		return R;
	}
}

UEmotionDetectorComponent::UEmotionDetectorComponent()
{
	PrimaryComponentTick.bCanEverTick = true;
}

void UEmotionDetectorComponent::BeginPlay()
{
	Super::BeginPlay();

	emotion_config Config = emotion_config_default();
	Config.smoothing = Smoothing;
	// EEmotionFaceDetector's order is emotion_face_detector's (0 off, 1 short, 2 full).
	Config.face_detector = static_cast<uint32_t>(FaceDetector);
	Config.max_faces = static_cast<uint32_t>(FMath::Clamp(MaxFaces, 1, EMOTION_MAX_FACES));
	Config.track_timeout = static_cast<uint32_t>(FMath::Max(TrackTimeout, 1));
	emotion_result Result;
	if (ServerUrl.IsEmpty())
	{
		Result = emotion_client_new_local(&Config, &Client);
	}
	else
	{
		// The converted strings live until the end of this block, past the call.
		FTCHARToUTF8 Url(*ServerUrl);
		FTCHARToUTF8 Key(*ApiKey);
		Result = emotion_client_new_server(Url.Get(), ApiKey.IsEmpty() ? nullptr : Key.Get(), &Config, &Client);
	}
	if (Result != EMOTION_OK)
	{
		UE_LOG(LogEmotion, Error, TEXT("libemotion: no client (%u): %s"), static_cast<uint32>(Result), *LastEmotionError());
		Client = nullptr;
		SetComponentTickEnabled(false);
		return;
	}
	UE_LOG(LogEmotion, Log, TEXT("libemotion %s ready"), UTF8_TO_TCHAR(emotion_version()));
}

void UEmotionDetectorComponent::EndPlay(const EEndPlayReason::Type EndPlayReason)
{
	FreeClient();
	Super::EndPlay(EndPlayReason);
}

void UEmotionDetectorComponent::BeginDestroy()
{
	// A component destroyed without EndPlay (in the editor) still frees its client.
	FreeClient();
	Super::BeginDestroy();
}

void UEmotionDetectorComponent::FreeClient()
{
	// Every call on the client happens on the game thread, so none is running now.
	emotion_client_free(Client);
	Client = nullptr;
}

void UEmotionDetectorComponent::SubmitFrame(const TArray<FColor>& Pixels, int32 Width, int32 Height)
{
	if (Width <= 0 || Height <= 0 || Pixels.Num() < Width * Height)
	{
		UE_LOG(LogEmotion, Warning, TEXT("SubmitFrame: %d pixels for a %dx%d frame"), Pixels.Num(), Width, Height);
		return;
	}
	// Copied into a reused array: the caller's may change before the next tick.
	PendingPixels.SetNumUninitialized(Width * Height);
	FMemory::Memcpy(PendingPixels.GetData(), Pixels.GetData(), sizeof(FColor) * Width * Height);
	PendingWidth = Width;
	PendingHeight = Height;
	bFramePending = true;
}

float UEmotionDetectorComponent::GetScore(EEmotionKind Emotion) const
{
	const int32 Index = static_cast<int32>(Emotion);
	return Latest.Scores.IsValidIndex(Index) ? Latest.Scores[Index] : 0.f;
}

void UEmotionDetectorComponent::TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction)
{
	Super::TickComponent(DeltaTime, TickType, ThisTickFunction);
	if (Client == nullptr)
	{
		return;
	}

	const double Now = FPlatformTime::Seconds();
	if (Now >= NextSubmitTime)
	{
		if (SourceRenderTarget != nullptr)
		{
			// Waits for the GPU: fine for a sample, not for shipping (see the header).
			if (FTextureRenderTargetResource* Resource = SourceRenderTarget->GameThread_GetRenderTargetResource())
			{
				if (Resource->ReadPixels(PendingPixels))
				{
					PendingWidth = SourceRenderTarget->SizeX;
					PendingHeight = SourceRenderTarget->SizeY;
					bFramePending = true;
				}
			}
		}
		if (bFramePending)
		{
			SubmitPending();
			NextSubmitTime = Now + 1.0 / FMath::Max(SubmitsPerSecond, 0.1f);
		}
	}
	Poll();
}

void UEmotionDetectorComponent::SubmitPending()
{
	bFramePending = false;
	// FColor is B, G, R, A in memory; rows are packed. The library copies the pixels, so the
	// array is reused at once; it returns without waiting for the classification.
	uint64_t FrameId = 0;
	const emotion_result Result = emotion_submit(Client, reinterpret_cast<const uint8_t*>(PendingPixels.GetData()),
		static_cast<uint32_t>(PendingWidth), static_cast<uint32_t>(PendingHeight),
		static_cast<size_t>(PendingWidth) * sizeof(FColor), EMOTION_PIXEL_FORMAT_BGRA, nullptr, &FrameId);
	if (Result != EMOTION_OK)
	{
		UE_LOG(LogEmotion, Warning, TEXT("emotion_submit (%u): %s"), static_cast<uint32>(Result), *LastEmotionError());
	}
}

void UEmotionDetectorComponent::Poll()
{
	emotion_detection Detection;
	const emotion_result Result = emotion_poll(Client, &Detection);
	if (Result == EMOTION_NOT_READY)
	{
		return;
	}
	if (Result != EMOTION_OK)
	{
		// The newest frame failed in the engine (a remote error); the next may work.
		UE_LOG(LogEmotion, Warning, TEXT("emotion_poll (%u): %s"), static_cast<uint32>(Result), *LastEmotionError());
		return;
	}
	const bool bFirst = !bHasReading;
	Latest = ToReading(Detection);
	bHasReading = true;
	if (Detection.emotion_changed || bFirst)
	{
		OnEmotionChanged.Broadcast(Latest);
	}
	for (uint32_t I = 0; I < Detection.face_count && I < EMOTION_MAX_FACES; ++I)
	{
		if (Detection.faces[I].emotion_changed && Detection.faces[I].track_id != 0)
		{
			OnFaceEmotionChanged.Broadcast(Latest.Faces[static_cast<int32>(I)]);
		}
	}
	// ended_track_count may exceed the ids listed (more than EMOTION_MAX_FACES ended at once).
	for (uint32_t I = 0; I < Detection.ended_track_count && I < EMOTION_MAX_FACES; ++I)
	{
		OnTrackEnded.Broadcast(static_cast<int64>(Detection.ended_tracks[I]));
	}
}
