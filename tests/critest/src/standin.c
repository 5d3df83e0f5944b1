// standin: one small static program behind the critest stand-in images (no internet, so the
// upstream nginx, httpd, nonewprivs and pause images are replaced; see ../README.md).
//
// The role is the basename of the executable (/proc/self/exe, not argv[0], which nginx
// rewrites):
//   nginx   re-execs itself as "nginx: master process nginx -g daemon off;" (specs grep
//           /proc/1/cmdline for "master process"), writes /var/run/nginx.pid, serves HTTP on
//           $NGINX_PORT (default 80)
//   httpd   serves HTTP on port 80 and logs "httpd: ..." lines to stderr (a spec looks for
//           "httpd" in the container log)
//   nnp     prints "Effective uid: N" (installed setuid root: the NoNewPrivs specs)
//   pause   waits for SIGTERM/SIGINT, reaping children (the pause image)
//
// The HTTP server answers every request with 200 and a short page, one connection at a time;
// requests are bounded (8 KiB of headers, 5 s per connection).
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char kMasterArgv0[] = "nginx: master process nginx -g daemon off;";

static int listen_on(int port) {
  // Dual-stack where the kernel has IPv6, plain IPv4 otherwise.
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1, zero = 0;
  if (fd >= 0) {
    struct sockaddr_in6 a6;
    memset(&a6, 0, sizeof a6);
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((unsigned short)port);
    a6.sin6_addr = in6addr_any;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, (struct sockaddr *)&a6, sizeof a6) == 0 && listen(fd, 64) == 0) return fd;
    close(fd);
  }
  fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a4;
  memset(&a4, 0, sizeof a4);
  a4.sin_family = AF_INET;
  a4.sin_port = htons((unsigned short)port);
  a4.sin_addr.s_addr = htonl(INADDR_ANY);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a4, sizeof a4) != 0 || listen(fd, 64) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

static void serve_one(int c, const char *name) {
  struct timeval tv = {5, 0};
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  char req[8192];
  size_t have = 0;
  while (have < sizeof req - 1) {
    ssize_t r = read(c, req + have, sizeof req - 1 - have);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    have += (size_t)r;
    req[have] = '\0';
    if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n")) break;
  }
  req[have] = '\0';
  size_t line = strcspn(req, "\r\n");
  if (line > 200) line = 200;
  fprintf(stderr, "%s: request \"%.*s\"\n", name, (int)line, req);
  char body[256], resp[512];
  int bn = snprintf(body, sizeof body, "<html><body><h1>Welcome to %s (critest stand-in)</h1></body></html>\n", name);
  int rn = snprintf(resp, sizeof resp,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                    "Connection: close\r\n\r\n%s",
                    bn, body);
  write_all(c, resp, (size_t)rn);
  close(c);
}

static int serve(const char *name, int port) {
  int fd = listen_on(port);
  if (fd < 0) {
    fprintf(stderr, "%s: cannot listen on port %d: %s\n", name, port, strerror(errno));
    return 1;
  }
  fprintf(stderr, "%s: listening on port %d\n", name, port);
  for (;;) {
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      fprintf(stderr, "%s: accept: %s\n", name, strerror(errno));
      return 1;
    }
    serve_one(c, name);
  }
}

static int nginx(char **argv) {
  if (strcmp(argv[0], kMasterArgv0) != 0) {
    char *args[] = {(char *)kMasterArgv0, NULL};
    execv("/proc/self/exe", args);
    fprintf(stderr, "nginx: re-exec: %s\n", strerror(errno));
    return 1;
  }
  mkdir("/var/run", 0755);
  FILE *f = fopen("/var/run/nginx.pid", "w");
  if (f) {
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
  }
  const char *p = getenv("NGINX_PORT");
  int port = p ? atoi(p) : 80;
  if (port <= 0 || port > 65535) port = 80;
  return serve("nginx", port);
}

static volatile sig_atomic_t g_stop;
static void on_stop(int sig) { (void)sig; g_stop = 1; }
static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

static int pause_forever(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = on_child;
  sa.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  while (!g_stop) pause();
  return 0;
}

int main(int argc, char **argv) {
  (void)argc;
  setvbuf(stdout, NULL, _IOLBF, 0);
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0) {
    fprintf(stderr, "standin: readlink /proc/self/exe: %s\n", strerror(errno));
    return 2;
  }
  exe[n] = '\0';
  const char *role = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
  if (strcmp(role, "nginx") == 0) return nginx(argv);
  if (strcmp(role, "httpd") == 0) return serve("httpd", 80);
  if (strcmp(role, "nnp") == 0) {
    printf("Effective uid: %d\n", (int)geteuid());
    return 0;
  }
  if (strcmp(role, "pause") == 0) return pause_forever();
  fprintf(stderr, "standin: unknown role %s (nginx, httpd, nnp, pause)\n", role);
  return 2;
}
