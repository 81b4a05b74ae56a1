threads_count = ENV.fetch("RAILS_MAX_THREADS", 3)
threads threads_count, threads_count
port ENV.fetch("PORT", 3000)
pidfile ENV.fetch("PIDFILE", "tmp/pids/server.pid")
