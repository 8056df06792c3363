#include "csml/simulate/random.h"

#include <cmath>

namespace csml {
namespace {

constexpr std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

std::uint64_t SplitMix64::Next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

Rng::Rng(std::uint64_t seed) {
  SplitMix64 mix(seed);
  for (auto& word : s_) word = mix.Next();
  // splitmix64 is a bijection of its counter, so four zero words cannot follow each other;
  // the guard documents the one state xoshiro must never have.
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
}

std::uint64_t Rng::Next() {
  const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

double Rng::Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

bool Rng::Bernoulli(double p) { return Uniform() < p; }

double Rng::Normal() {
  // Polar method: a point uniform in the unit disc gives two independent normals; the second
  // is dropped so each call consumes a whole number of draws and no state is hidden.
  for (;;) {
    const double u = 2.0 * Uniform() - 1.0;
    const double v = 2.0 * Uniform() - 1.0;
    const double s = u * u + v * v;
    if (s > 0.0 && s < 1.0) return u * std::sqrt(-2.0 * std::log(s) / s);
  }
}

std::int64_t Rng::Poisson(double lambda) {
  if (!(lambda > 0.0)) return 0;
  if (lambda < 30.0) {
    // Knuth: count uniforms until their product drops below e^-lambda.
    const double limit = std::exp(-lambda);
    std::int64_t k = 0;
    double product = Uniform();
    while (product > limit) {
      ++k;
      product *= Uniform();
    }
    return k;
  }
  const double x = std::floor(lambda + std::sqrt(lambda) * Normal() + 0.5);
  return x < 0.0 ? 0 : static_cast<std::int64_t>(x);
}

std::uint32_t Rng::Below(std::uint32_t n) {
  return static_cast<std::uint32_t>(((Next() >> 32) * n) >> 32);
}

}  // namespace csml
