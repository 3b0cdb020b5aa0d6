#ifndef KEYVIZ_CMICROHTTPD_SHIM_H
#define KEYVIZ_CMICROHTTPD_SHIM_H
#include <stdint.h>
#include <stdarg.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#endif
