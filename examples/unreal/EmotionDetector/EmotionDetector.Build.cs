// EmotionDetector.Build.cs: UnrealBuildTool rules of the EmotionDetector module: libemotion's header and libraries, per platform.

using System;
using System.IO;
using UnrealBuildTool;

public class EmotionDetector : ModuleRules
{
	public EmotionDetector(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine" });

		// The facial emotion repository: LIBEMOTION_ROOT, or the checkout this sample lies in
		// (examples/unreal/EmotionDetector → three levels up). Copy the module into a project's
		// Source/ and set LIBEMOTION_ROOT, or change these two paths to a ThirdParty folder.
		string Root = Environment.GetEnvironmentVariable("LIBEMOTION_ROOT");
		if (string.IsNullOrEmpty(Root))
		{
			Root = Path.GetFullPath(Path.Combine(ModuleDirectory, "..", "..", ".."));
		}
		// `cargo build --release -p emotion-ffi` (add `--target <triple>` for another platform
		// and point LibDir at target/<triple>/release).
		string LibDir = Path.Combine(Root, "target", "release");

		PublicIncludePaths.Add(Path.Combine(Root, "bindings", "c", "include"));

		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			// The DLL with its import library, delay-loaded: the module loads it from the
			// project's Binaries at startup (EmotionDetectorModule.cpp), where RuntimeDependencies
			// copies it, because the editor's executable lies elsewhere.
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "emotion.dll.lib"));
			PublicDelayLoadDLLs.Add("emotion.dll");
			RuntimeDependencies.Add("$(BinaryOutputDir)/emotion.dll", Path.Combine(LibDir, "emotion.dll"));
		}
		else if (Target.Platform == UnrealTargetPlatform.Mac)
		{
			// The dylib next to the binaries; its install name must be @rpath/libemotion.dylib
			// (check with `otool -D`, fix with `install_name_tool -id`).
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "libemotion.dylib"));
			RuntimeDependencies.Add("$(BinaryOutputDir)/libemotion.dylib", Path.Combine(LibDir, "libemotion.dylib"));
		}
		else if (Target.Platform == UnrealTargetPlatform.Linux)
		{
			// Linked statically: nothing to ship, no rpath to get right. A Rust static library
			// needs the system libraries its std uses; `cargo rustc --release -p emotion-ffi
			// --crate-type staticlib -- --print native-static-libs` lists them for your toolchain.
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "libemotion.a"));
			PublicSystemLibraries.AddRange(new string[] { "gcc_s", "util", "rt", "pthread", "m", "dl" });
		}
		else if (Target.Platform == UnrealTargetPlatform.Android)
		{
			// arm64 only: `cargo build --release -p emotion-ffi --target aarch64-linux-android`
			// (with the NDK's linker). Bionic has threads in libc; Rust's std also wants libdl and liblog.
			string AndroidLibDir = Path.Combine(Root, "target", "aarch64-linux-android", "release");
			PublicAdditionalLibraries.Add(Path.Combine(AndroidLibDir, "libemotion.a"));
			PublicSystemLibraries.AddRange(new string[] { "dl", "m", "log" });
		}
		else
		{
			throw new BuildException("EmotionDetector: no libemotion set up for platform " + Target.Platform);
		}
	}
}
