#include "cli/command.h"

namespace tenpak::cli {

int ExitCodeFor(const Status& status) {
    switch (status.code()) {
        case StatusCode::kOk:
            return 0;
        case StatusCode::kInvalidArgument:
        case StatusCode::kNotFound:
        case StatusCode::kCorruption:
        case StatusCode::kUnsupported:
        case StatusCode::kIntegrity:
            return 2;
        case StatusCode::kIOError:
        case StatusCode::kNetwork:
        case StatusCode::kResourceExhausted:
        case StatusCode::kCancelled:
        case StatusCode::kInternal:
            return 1;
    }
    return 1;
}

}  // namespace tenpak::cli
