// Runs a fuzz target over files and directories given on the command line (without libFuzzer):
// each file whole, and every prefix of it at 64 evenly spaced lengths, so truncation is covered.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::size_t run_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  std::size_t runs = 0;
  const std::size_t step = bytes.size() / 64 + 1;
  for (std::size_t n = 0; n < bytes.size(); n += step, ++runs) LLVMFuzzerTestOneInput(data, n);
  LLVMFuzzerTestOneInput(data, bytes.size());
  return runs + 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t files = 0, runs = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
        if (entry.is_regular_file()) {
          runs += run_file(entry.path());
          ++files;
        }
      }
    } else if (std::filesystem::is_regular_file(arg)) {
      runs += run_file(arg);
      ++files;
    }
  }
  std::cout << argv[0] << ": " << files << " files, " << runs << " runs\n";
  if (files == 0) {
    std::cerr << "no corpus files found\n";
    return 1;
  }
  return 0;
}
