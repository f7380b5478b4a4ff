// Assertions for TenPak's own invariants. Never for input: bad input returns a Status.
//   TP_CHECK(cond)   always on; prints the condition and location, then aborts.
//   TP_DCHECK(cond)  debug builds only.
#pragma once

namespace tenpak::internal {
[[noreturn]] void CheckFailed(const char* condition, const char* file, int line);
}  // namespace tenpak::internal

#define TP_CHECK(cond) ((cond) ? static_cast<void>(0) : ::tenpak::internal::CheckFailed(#cond, __FILE__, __LINE__))

#ifdef NDEBUG
#define TP_DCHECK(cond) static_cast<void>(0)
#else
#define TP_DCHECK(cond) TP_CHECK(cond)
#endif
