# Shell helpers shared by tests/cli/trace.sh and bench/trace_bench.sh
# (sourced, not run): real workloads set up the same way in both.

# A free TCP port on loopback.
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# nginx_prepare DIR PORT: a self-contained nginx (two workers, logs and temp
# files under DIR) serving DIR/html on 127.0.0.1:PORT. Run it with
#   nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'
nginx_prepare() {
	local dir=$1 port=$2
	mkdir -p "$dir/html" "$dir/logs" && echo hello >"$dir/html/index.html" && chmod -R a+rX "$dir" || return 1
	cat >"$dir/nginx.conf" <<EOC
master_process on;
worker_processes 2;
error_log $dir/logs/error.log;
pid $dir/nginx.pid;
events { worker_connections 64; }
http {
  access_log $dir/logs/access.log;
  client_body_temp_path $dir/tb; proxy_temp_path $dir/tp; fastcgi_temp_path $dir/tf;
  uwsgi_temp_path $dir/tu; scgi_temp_path $dir/ts;
  server { listen 127.0.0.1:$port; location / { root $dir/html; } }
}
EOC
}
