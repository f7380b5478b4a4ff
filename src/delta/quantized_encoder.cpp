#include "approx_encoders_internal.h"
#include "tenpak/quant/quantizer.h"

namespace tenpak::delta {
namespace {

constexpr int64_t kGroupSize = 128;

class QuantizedEncoder final : public ApproxEncoder {
public:
    explicit QuantizedEncoder(int bits) : bits_(bits), name_("int" + std::to_string(bits)) {}

    std::string_view name() const override { return name_; }

    std::optional<Approximation> Encode(std::span<const float> d, int64_t rows, int64_t cols,
                                        double max_error) const override {
        quant::QuantOptions options = quant::DefaultOptions(quant::Method::kRtn);
        options.bits = bits_;
        options.symmetric = true;
        options.group_size = cols % kGroupSize == 0 ? kGroupSize : -1;
        Result<std::unique_ptr<quant::Quantizer>> quantizer = quant::MakeQuantizer(options);
        if (!quantizer.ok()) return std::nullopt;
        ThreadPool pool(1);
        Result<quantformat::QuantizedTensor> q = (*quantizer)->Quantize(d, rows, cols, pool);
        if (!q.ok()) return std::nullopt;  // e.g. a scale beyond F16's range: not this encoder's tensor
        std::vector<float> decoded(d.size());
        quantformat::Dequantize(*q, decoded);
        if (SquaredDistance(d, decoded) > max_error * max_error) return std::nullopt;
        ByteWriter out;
        out.Put<uint8_t>(PackCodes(q->codes));
        out.Put<float>(q->scales);
        out.Put<float>(q->zeros);
        Approximation a{name_, {{"group_size", q->group_size}}, out.Take()};
        return a;
    }

    Status Decode(const nlohmann::json& params, std::span<const std::byte> bytes, int64_t rows, int64_t cols,
                  std::span<float> out) const override {
        const auto bad = [&](const std::string& what) {
            return Status::Corruption(name_ + " delta of " + std::to_string(rows) + " x " + std::to_string(cols) + ": " +
                                      what);
        };
        if (!params.contains("group_size") || !params["group_size"].is_number_integer()) return bad("no 'group_size'");
        quantformat::QuantizedTensor q;
        q.rows = rows;
        q.cols = cols;
        q.bits = bits_;
        q.scheme = quantformat::Scheme::kAffine;
        q.group_size = params["group_size"].get<int64_t>();
        if (q.group_size <= 0 || cols % q.group_size != 0) return bad("'group_size' does not divide the columns");
        const size_t groups = static_cast<size_t>(rows * (cols / q.group_size));
        std::vector<uint8_t> packed(PackedSize(out.size()));
        q.scales.resize(groups);
        q.zeros.resize(groups);
        ByteReader in(bytes);
        if (!in.Get<uint8_t>(packed) || !in.Get<float>(q.scales) || !in.Get<float>(q.zeros) || !in.AtEnd()) {
            return bad(std::to_string(bytes.size()) + " bytes do not fit");
        }
        q.codes = UnpackCodes(packed, out.size());
        if (Status valid = quantformat::Validate(q); !valid.ok()) return bad(valid.message());
        quantformat::Dequantize(q, out);
        return Status::Ok();
    }

private:
    // 8-bit codes as they are; 4-bit ones two to a byte, the first in the low nibble.
    size_t PackedSize(size_t count) const { return bits_ == 8 ? count : (count + 1) / 2; }

    std::vector<uint8_t> PackCodes(const std::vector<uint8_t>& codes) const {
        if (bits_ == 8) return codes;
        std::vector<uint8_t> packed(PackedSize(codes.size()));
        for (size_t i = 0; i < codes.size(); ++i) packed[i / 2] |= static_cast<uint8_t>(codes[i] << (4 * (i % 2)));
        return packed;
    }

    std::vector<uint8_t> UnpackCodes(const std::vector<uint8_t>& packed, size_t count) const {
        if (bits_ == 8) return packed;
        std::vector<uint8_t> codes(count);
        for (size_t i = 0; i < count; ++i) codes[i] = static_cast<uint8_t>(packed[i / 2] >> (4 * (i % 2)) & 0x0f);
        return codes;
    }

    int bits_;
    std::string name_;
};

}  // namespace

std::unique_ptr<ApproxEncoder> MakeQuantizedEncoder(int bits) {
    return std::make_unique<QuantizedEncoder>(bits);
}

}  // namespace tenpak::delta
