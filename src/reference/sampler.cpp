#include "reference/sampler.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"

namespace wgllm {

std::vector<TokenProb> Sampler::distribution(std::span<const float> logits, std::span<const int> history) const {
  const int n = int(logits.size());
  if (n == 0) fail("sampler: empty logits");
  std::vector<float> z(logits.begin(), logits.end());

  // Repetition penalty: each distinct recent token once.
  if (params_.repeat_penalty != 1.f && params_.repeat_last_n != 0) {
    const size_t look = params_.repeat_last_n < 0 ? history.size()
                                                  : std::min(history.size(), size_t(params_.repeat_last_n));
    std::vector<bool> seen(n, false);
    for (size_t i = history.size() - look; i < history.size(); i++) {
      const int t = history[i];
      if (t < 0 || t >= n || seen[t]) continue;
      seen[t] = true;
      z[t] = z[t] > 0 ? z[t] / params_.repeat_penalty : z[t] * params_.repeat_penalty;
    }
  }

  std::vector<int> order(n);
  for (int i = 0; i < n; i++) order[i] = i;
  auto before = [&](int a, int b) { return z[a] > z[b] || (z[a] == z[b] && a < b); };
  if (params_.temperature <= 0.f) {
    return {{*std::min_element(order.begin(), order.end(), before), 1.f}};
  }

  // Top-k (partial sort keeps this cheap for 256k vocabularies).
  int keep = params_.top_k > 0 ? std::min(params_.top_k, n) : n;
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), before);
  order.resize(keep);

  // Probabilities at temperature 1 for the filters.
  auto softmax_of = [&](float temp) {
    std::vector<double> p(order.size());
    double sum = 0;
    for (size_t i = 0; i < order.size(); i++) sum += p[i] = std::exp(double(z[order[i]] - z[order[0]]) / temp);
    for (double& x : p) x /= sum;
    return p;
  };
  std::vector<double> p = softmax_of(1.f);
  if (params_.top_p < 1.f) {
    double cum = 0;
    size_t k = 0;
    while (k < p.size()) {
      cum += p[k++];
      if (cum >= params_.top_p) break;
    }
    order.resize(k);
    p.resize(k);
  }
  if (params_.min_p > 0.f) {
    size_t k = 1;
    while (k < p.size() && p[k] >= params_.min_p * p[0]) k++;
    order.resize(k);
  }

  p = softmax_of(params_.temperature);
  std::vector<TokenProb> out(order.size());
  for (size_t i = 0; i < order.size(); i++) out[i] = {order[i], float(p[i])};
  return out;
}

int Sampler::sample(std::span<const float> logits, std::span<const int> history) {
  const std::vector<TokenProb> dist = distribution(logits, history);
  if (dist.size() == 1) return dist[0].id;
  const double u = rng_.uniform();
  double cum = 0;
  for (const TokenProb& t : dist) {
    cum += t.p;
    if (u < cum) return t.id;
  }
  return dist.back().id;  // rounding left u just above the total
}

}  // namespace wgllm
