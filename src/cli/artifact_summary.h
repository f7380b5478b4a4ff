// What `inspect` and `pack` print about a .tnpk artifact.
#pragma once

#include <nlohmann/json.hpp>

#include "tenpak/artifact/artifact.h"

namespace tenpak::cli {

// id, source, hash, chunk size, chunk / tensor / file counts, raw and stored bytes, compression
// ratio, signature scheme, files.
nlohmann::ordered_json ArtifactSummaryJson(const artifact::Artifact& artifact);
void PrintArtifactSummary(const artifact::Artifact& artifact);

}  // namespace tenpak::cli
