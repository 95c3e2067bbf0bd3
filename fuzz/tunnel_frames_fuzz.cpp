// WebSocket frames as a netd-tunnel link reads them from its peer
// (tunnel_frames.hpp): any bytes, read as a server (masked frames) and as a
// client (unmasked). Nothing handed on is over the limits, and reading the
// same bytes in two pieces, as a link's buffer fills, hands on the same
// messages and finds the same fault as reading them at once.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "netd/tunnel_frames.hpp"

namespace {

using netd::tunnel::frames::Opcode;
using netd::tunnel::frames::Reader;

constexpr std::size_t limit = 4096;

struct Result {
    std::vector<std::pair<Opcode, std::string>> messages;
    bool broken = false;
    bool operator==(const Result&) const = default;
};

bool control(Opcode opcode) { return static_cast<std::uint8_t>(opcode) & 0x08; }

// The bytes in pieces cut at `cuts` (ascending), each read into whatever
// the buffer holds, as a link does.
Result read(const std::uint8_t* data, std::size_t size, bool masked, const std::vector<std::size_t>& cuts) {
    Reader reader(masked, limit);
    Result result;
    std::vector<std::uint8_t> buffer;
    std::size_t from = 0;
    auto pieces = cuts;
    pieces.push_back(size);
    for (auto to : pieces) {
        buffer.insert(buffer.end(), data + from, data + to);
        from = to;
        auto outcome = reader.read(buffer.data(), buffer.size(), [&](Opcode opcode, const std::uint8_t* p, std::size_t n) {
            if (n > limit || (control(opcode) && n > 125)) std::abort();
            result.messages.emplace_back(opcode, std::string(p, p + n));
            return true;
        });
        if (outcome.consumed > buffer.size()) std::abort();
        if (!outcome.error.empty()) {
            result.broken = true;
            return result;
        }
        if (outcome.need && outcome.need <= buffer.size() - outcome.consumed) std::abort();
        buffer.erase(buffer.begin(), buffer.begin() + static_cast<long>(outcome.consumed));
    }
    return result;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    // The first two bytes choose where the bytes are cut in two.
    std::size_t cut = ((std::size_t{data[0]} << 8) | data[1]) % (size - 1);
    data += 2;
    size -= 2;
    for (bool masked : {false, true}) {
        auto whole = read(data, size, masked, {});
        auto halves = read(data, size, masked, {cut});
        if (!(whole == halves)) std::abort();
    }
    return 0;
}
