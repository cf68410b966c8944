#pragma once
// One function per CLI subcommand; argv starts after the subcommand name.
namespace mqb::cli {
int runSegment(int argc, char** argv);
int runCompare(int argc, char** argv);
int runInspect(int argc, char** argv);
int runPhantom(int argc, char** argv);
int runQuantize(int argc, char** argv);
int runAnalyze(int argc, char** argv);
int runSweep(int argc, char** argv);
int runMerge(int argc, char** argv);
int runDemo(int argc, char** argv);
int runExportInt8(int argc, char** argv);
}  // namespace mqb::cli
