#!/bin/sh
echo "Hello, $(uname -m)! (an image built for $(cat /etc/built-for))"
