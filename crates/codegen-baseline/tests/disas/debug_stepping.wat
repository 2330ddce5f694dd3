;;! debug = stepping
;; Debug code: parameters and locals go to their slots, a debug-break check on entry and
;; before every instruction, every value back in its slot after each instruction.
(module
  (func (param i32) (result i32) (local i32)
    (loop $l
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 1)))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      00000000000001ACh
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     [rbp-28h],esi
;;     27: mov     dword ptr [rbp-30h],0
;;     2e: mov     rdi,rbx
;;     31: mov     esi,0
;;     36: mov     edx,18h
;;     3b: mov     r11,[rbx+10h]
;;     3f: call    qword ptr [r11+78h]
;;     43: mov     rdi,rbx
;;     46: mov     esi,0
;;     4b: mov     edx,1Bh
;;     50: mov     r11,[rbx+10h]
;;     54: call    qword ptr [r11+78h]
;;     58: mov     rdi,rbx
;;     5b: mov     esi,0
;;     60: mov     edx,1Dh
;;     65: mov     r11,[rbx+10h]
;;     69: call    qword ptr [r11+78h]
;;     6d: mov     eax,[rbp-30h]
;;     70: mov     [rbp-38h],eax
;;     73: mov     rdi,rbx
;;     76: mov     esi,0
;;     7b: mov     edx,1Fh
;;     80: mov     r11,[rbx+10h]
;;     84: call    qword ptr [r11+78h]
;;     88: mov     eax,[rbp-28h]
;;     8b: mov     [rbp-40h],eax
;;     8e: mov     rdi,rbx
;;     91: mov     esi,0
;;     96: mov     edx,21h
;;     9b: mov     r11,[rbx+10h]
;;     9f: call    qword ptr [r11+78h]
;;     a3: mov     eax,[rbp-40h]
;;     a6: mov     ecx,[rbp-38h]
;;     a9: add     ecx,eax
;;     ab: mov     [rbp-38h],ecx
;;     ae: mov     rdi,rbx
;;     b1: mov     esi,0
;;     b6: mov     edx,22h
;;     bb: mov     r11,[rbx+10h]
;;     bf: call    qword ptr [r11+78h]
;;     c3: movsd   xmm15,[rbp-38h]
;;     c9: movsd   [rbp-30h],xmm15
;;     cf: mov     rdi,rbx
;;     d2: mov     esi,0
;;     d7: mov     edx,24h
;;     dc: mov     r11,[rbx+10h]
;;     e0: call    qword ptr [r11+78h]
;;     e4: mov     eax,[rbp-28h]
;;     e7: mov     [rbp-38h],eax
;;     ea: mov     rdi,rbx
;;     ed: mov     esi,0
;;     f2: mov     edx,26h
;;     f7: mov     r11,[rbx+10h]
;;     fb: call    qword ptr [r11+78h]
;;     ff: mov     rdi,rbx
;;    102: mov     esi,0
;;    107: mov     edx,28h
;;    10c: mov     r11,[rbx+10h]
;;    110: call    qword ptr [r11+78h]
;;    114: mov     eax,[rbp-38h]
;;    117: sub     eax,1
;;    11a: mov     [rbp-38h],eax
;;    11d: mov     rdi,rbx
;;    120: mov     esi,0
;;    125: mov     edx,29h
;;    12a: mov     r11,[rbx+10h]
;;    12e: call    qword ptr [r11+78h]
;;    132: mov     eax,[rbp-38h]
;;    135: mov     [rbp-28h],eax
;;    138: mov     [rbp-38h],eax
;;    13b: mov     rdi,rbx
;;    13e: mov     esi,0
;;    143: mov     edx,2Bh
;;    148: mov     r11,[rbx+10h]
;;    14c: call    qword ptr [r11+78h]
;;    150: mov     eax,[rbp-38h]
;;    153: test    eax,eax
;;    155: jne     0000000000000058h
;;    15b: mov     rdi,rbx
;;    15e: mov     esi,0
;;    163: mov     edx,2Dh
;;    168: mov     r11,[rbx+10h]
;;    16c: call    qword ptr [r11+78h]
;;    170: mov     rdi,rbx
;;    173: mov     esi,0
;;    178: mov     edx,2Eh
;;    17d: mov     r11,[rbx+10h]
;;    181: call    qword ptr [r11+78h]
;;    185: mov     eax,[rbp-30h]
;;    188: mov     [rbp-38h],eax
;;    18b: mov     rdi,rbx
;;    18e: mov     esi,0
;;    193: mov     edx,30h
;;    198: mov     r11,[rbx+10h]
;;    19c: call    qword ptr [r11+78h]
;;    1a0: mov     eax,[rbp-38h]
;;    1a3: mov     rbx,[rbp-8]
;;    1a7: mov     rsp,rbp
;;    1aa: pop     rbp
;;    1ab: ret
;;    1ac: ud2  ; trap: StackOverflow
