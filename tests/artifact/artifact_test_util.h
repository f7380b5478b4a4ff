// Shared by the artifact tests: packing a folder with given options, and editing artifact bytes.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "tenpak/artifact/artifact.h"
#include "tenpak/artifact/packer.h"
#include "test_util.h"

namespace tenpak::testing {

inline artifact::PackOptions QuietOptions() {
    artifact::PackOptions options;
    options.progress = false;
    options.threads = 2;
    return options;
}

inline artifact::PackReport PackOrDie(const std::string& source, const std::string& out,
                                      const artifact::PackOptions& options = QuietOptions()) {
    Result<artifact::PackInput> input = artifact::DescribePackInput(source);
    EXPECT_TRUE(input.ok()) << input.status().message();
    Result<artifact::PackReport> report = artifact::Pack(*input, out, options);
    EXPECT_TRUE(report.ok()) << report.status().message();
    return report.ok() ? *report : artifact::PackReport{};
}

inline std::shared_ptr<const artifact::Artifact> OpenOrDie(const std::string& path) {
    Result<std::shared_ptr<const artifact::Artifact>> opened = artifact::Artifact::OpenFile(path);
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    return opened.ok() ? *opened : nullptr;
}

inline artifact::Footer FooterOf(const std::string& bytes) {
    Result<artifact::Footer> footer = artifact::DecodeFooter(
        std::as_bytes(std::span(bytes)).last(artifact::kFooterSize), bytes.size(), "test");
    EXPECT_TRUE(footer.ok()) << footer.status().message();
    return footer.ok() ? *footer : artifact::Footer{};
}

// Rebuilds an artifact's bytes with another manifest and signature block (and a footer that
// matches them), as someone editing it after signing would.
inline std::string Reframe(const std::string& bytes, const std::string& manifest, const std::string& signature,
                           bool fix_hash = true) {
    const artifact::Footer old = FooterOf(bytes);
    artifact::Footer footer = old;
    footer.manifest_size = manifest.size();
    footer.signature_size = signature.size();
    if (fix_hash) footer.manifest_hash = HashBytes(old.hash, std::as_bytes(std::span(manifest)));
    const auto encoded = artifact::EncodeFooter(footer);
    return bytes.substr(0, old.manifest_offset) + manifest + signature +
           std::string(reinterpret_cast<const char*>(encoded.data()), encoded.size());
}

inline std::string ManifestText(const std::string& bytes) {
    const artifact::Footer footer = FooterOf(bytes);
    return bytes.substr(footer.manifest_offset, footer.manifest_size);
}

inline std::string SignatureText(const std::string& bytes) {
    const artifact::Footer footer = FooterOf(bytes);
    return bytes.substr(footer.manifest_offset + footer.manifest_size, footer.signature_size);
}

}  // namespace tenpak::testing
