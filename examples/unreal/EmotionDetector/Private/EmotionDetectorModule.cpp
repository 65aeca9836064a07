// EmotionDetectorModule.cpp: the EmotionDetector module; on Windows it loads emotion.dll from the project's binaries before first use.

#include "CoreMinimal.h"
#include "HAL/PlatformProcess.h"
#include "Misc/Paths.h"
#include "Modules/ModuleManager.h"

#include "EmotionDetectorComponent.h"

class FEmotionDetectorModule : public IModuleInterface
{
public:
	virtual void StartupModule() override
	{
#if PLATFORM_WINDOWS
		// emotion.dll is delay-loaded (EmotionDetector.Build.cs) and copied next to the project's
		// binaries, which the editor's executable does not search: load it by path here, before
		// any emotion_* call resolves it.
		const FString Dll = FPaths::Combine(FPaths::ProjectDir(), TEXT("Binaries"),
			FPlatformProcess::GetBinariesSubdirectory(), TEXT("emotion.dll"));
		LibEmotion = FPlatformProcess::GetDllHandle(*Dll);
		if (LibEmotion == nullptr)
		{
			UE_LOG(LogEmotion, Error, TEXT("cannot load %s: build it with `cargo build --release -p emotion-ffi`"), *Dll);
		}
#endif
	}

	virtual void ShutdownModule() override
	{
		// Components free their clients in EndPlay, before modules shut down.
		if (LibEmotion != nullptr)
		{
			FPlatformProcess::FreeDllHandle(LibEmotion);
			LibEmotion = nullptr;
		}
	}

private:
	void* LibEmotion = nullptr;
};

IMPLEMENT_MODULE(FEmotionDetectorModule, EmotionDetector)
