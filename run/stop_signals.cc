// SIGINT/SIGTERM as a stop flag: one thread takes them with sigwait, so no other thread is
// ever interrupted by them and a stop is seen at the pipeline's own checkpoints.
#include <pthread.h>
#include <signal.h>

#include <thread>

#include "stagesync/log.h"
#include "stagesync/run.h"

namespace stagesync::run {

struct StopSignals::State {
  std::atomic<bool>* stop;
  sigset_t set;
  std::thread thread;
};

StopSignals::StopSignals(std::atomic<bool>& stop) : state_(std::make_unique<State>()) {
  state_->stop = &stop;
  sigemptyset(&state_->set);
  sigaddset(&state_->set, SIGINT);
  sigaddset(&state_->set, SIGTERM);
  sigaddset(&state_->set, SIGUSR2);  // our own wake-up at shutdown
  pthread_sigmask(SIG_BLOCK, &state_->set, nullptr);
  state_->thread = std::thread([state = state_.get()] {
    int sig = 0;
    while (sigwait(&state->set, &sig) == 0) {
      if (sig == SIGUSR2) return;
      LOG_INFO("received " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ": stopping cleanly");
      *state->stop = true;
    }
  });
}

StopSignals::~StopSignals() {
  pthread_kill(state_->thread.native_handle(), SIGUSR2);
  state_->thread.join();
}

}  // namespace stagesync::run
