#include "kernels/thread_pool.h"

#include <algorithm>

namespace rewire {
namespace {
// Set on pool worker threads and on a caller while it runs a job, so nested
// ParallelFor calls run inline.
thread_local bool in_pool_task = false;
}  // namespace

ThreadPool::ThreadPool(int num_threads)
    : num_threads_(num_threads >= 1
                       ? num_threads
                       : std::max(1u, std::thread::hardware_concurrency())) {
  workers_.reserve(num_threads_ - 1);
  for (int i = 1; i < num_threads_; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

ThreadPool& ThreadPool::Default() {
  // Leaked on purpose: worker threads must outlive static destruction of
  // anything that might still submit work.
  static ThreadPool* pool = new ThreadPool(0);
  return *pool;
}

void ThreadPool::RunChunks() {
  std::unique_lock<std::mutex> lock(mu_);
  while (next_chunk_ < num_chunks_) {
    const int64_t c = next_chunk_++;
    const std::function<void(int64_t, int64_t)>* fn = fn_;
    const int64_t begin = c * chunk_;
    const int64_t end = std::min(n_, begin + chunk_);
    lock.unlock();
    (*fn)(begin, end);
    lock.lock();
    if (++chunks_done_ == num_chunks_) done_cv_.notify_all();
  }
}

void ThreadPool::WorkerLoop() {
  in_pool_task = true;
  uint64_t seen = 0;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    RunChunks();
  }
}

void ThreadPool::ParallelFor(
    int64_t n, int64_t grain,
    const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  if (num_threads_ == 1 || n <= grain || in_pool_task) {
    fn(0, n);
    return;
  }
  // A few chunks per thread balance uneven progress without much overhead.
  const int64_t max_chunks = static_cast<int64_t>(num_threads_) * 4;
  int64_t chunks = std::min(max_chunks, (n + grain - 1) / grain);
  const int64_t chunk = (n + chunks - 1) / chunks;
  chunks = (n + chunk - 1) / chunk;

  std::lock_guard<std::mutex> submit(submit_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    n_ = n;
    chunk_ = chunk;
    num_chunks_ = chunks;
    next_chunk_ = 0;
    chunks_done_ = 0;
    ++generation_;
  }
  work_cv_.notify_all();
  in_pool_task = true;
  RunChunks();
  in_pool_task = false;
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return chunks_done_ == num_chunks_; });
  // Workers that wake late find next_chunk_ == num_chunks_ and take nothing,
  // so fn may go out of scope now.
  fn_ = nullptr;
}

}  // namespace rewire
