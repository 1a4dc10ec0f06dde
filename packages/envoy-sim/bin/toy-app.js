#!/usr/bin/env node
import '../dist/toy-app-cli.js';
