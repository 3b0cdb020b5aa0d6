// prometheus-cpp 1.0.1 (Debian prometheus-cpp-dev) measured the way KeyViz is measured:
//   promcpp_bench serialize N     text serializer over N counter series (ns per series)
//   promcpp_bench increment       pre-bound Counter::Increment, 1 and 2 threads (ns per op)
//   promcpp_bench lookup          Family::Add(labels) + Increment per op (ns per op)
//   promcpp_bench serve N PORT    an Exposer on 127.0.0.1:PORT with N series, for wrk
// Built by ../../scripts/bench-http.sh and ../../scripts/bench-peers.sh; not part of any test.
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using namespace prometheus;
using Clock = std::chrono::steady_clock;

static double ns_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
}

static Family<Counter>& family(Registry& r) {
  return BuildCounter().Name("keyviz_peer_bucket_writes_total").Help("Peer.").Register(r);
}

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "serialize";
  if (mode == "serialize") {
    int n = argc > 2 ? std::atoi(argv[2]) : 1000;
    Registry registry;
    auto& f = family(registry);
    std::vector<Counter*> cs;
    for (int i = 0; i < n; i++) cs.push_back(&f.Add({{"bucket", "key/" + std::to_string(i)}}));
    TextSerializer serializer;
    double best = 1e18;
    for (int rep = 0; rep < 30; rep++) {
      for (auto* c : cs) c->Increment();
      auto t0 = Clock::now();
      auto collected = registry.Collect();
      std::string out = serializer.Serialize(collected);
      double ns = ns_since(t0);
      if (out.empty()) return 1;
      if (ns < best) best = ns;
    }
    std::printf("prometheus-cpp collect+serialize %d series: best %.0f us, %.0f ns per series\n", n, best / 1000, best / n);
  } else if (mode == "increment") {
    Registry registry;
    auto& f = family(registry);
    auto& a = f.Add({{"bucket", "a"}});
    auto& b = f.Add({{"bucket", "b"}});
    const long ops = 20000000;
    auto t0 = Clock::now();
    for (long i = 0; i < ops; i++) a.Increment();
    std::printf("prometheus-cpp pre-bound Increment, 1 thread: %.2f ns/op\n", ns_since(t0) / ops);
    for (int same = 1; same >= 0; same--) {
      t0 = Clock::now();
      std::thread t1([&] { for (long i = 0; i < ops / 2; i++) a.Increment(); });
      std::thread t2([&] { for (long i = 0; i < ops / 2; i++) (same ? a : b).Increment(); });
      t1.join();
      t2.join();
      std::printf("prometheus-cpp pre-bound Increment, 2 threads, %s: %.2f ns/op aggregate\n",
                  same ? "same counter" : "different counters", ns_since(t0) / ops);
    }
  } else if (mode == "lookup") {
    Registry registry;
    auto& f = family(registry);
    std::vector<std::string> ids;
    for (int i = 0; i < 1024; i++) ids.push_back(std::to_string(i));
    for (auto& id : ids) f.Add({{"route", id}});
    const long ops = 2000000;
    auto t0 = Clock::now();
    for (long i = 0; i < ops; i++) f.Add({{"route", ids[7 + (i & 15)]}}).Increment();
    std::printf("prometheus-cpp Family::Add(labels)+Increment, 1 thread: %.1f ns/op\n", ns_since(t0) / ops);
  } else if (mode == "serve") {
    int n = argc > 2 ? std::atoi(argv[2]) : 1024;
    std::string port = argc > 3 ? argv[3] : "19478";
    auto registry = std::make_shared<Registry>();
    auto& f = family(*registry);
    for (int i = 0; i < n; i++) f.Add({{"bucket", "key/" + std::to_string(i)}}).Increment(i);
    Exposer exposer{"127.0.0.1:" + port};
    exposer.RegisterCollectable(registry);
    std::printf("serving %d series on 127.0.0.1:%s\n", n, port.c_str());
    std::fflush(stdout);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    int sig;
    sigwait(&set, &sig);
  }
  return 0;
}
